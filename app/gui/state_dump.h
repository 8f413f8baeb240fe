#pragma once
// What a scripted session (tests/app/gui/xdotool_session.sh) reads back from a real window, instead of
// guessing from pixels or sleeping: F12 writes DIR/state-N.png (the window's own grab) and DIR/state-N.json —
// the page shown, the scratchpad's text, language, mask and layer, whether an analysis is still pending, what
// the last analysis saw (its text, subwords, mask, a digest of the attention drawn) and where the widgets a
// script clicks are, in window coordinates.
#include <QString>

namespace ps::gui {

class MainWindow;

// Installs the F12 shortcut (whichever widget has focus); files go to dir, numbered from 1.
void install_state_dump(MainWindow& window, const QString& dir);
// Writes DIR/state-N.json and .png now; returns the JSON path ("" when either cannot be written).
QString dump_state(MainWindow& window, const QString& dir, int n);

}  // namespace ps::gui
