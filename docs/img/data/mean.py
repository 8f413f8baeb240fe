def mean(self, values):
    total = 0
    for v in values:
        total += v
    return total / len(values)
