import Foundation
import SpeculaCore

/// Pearson's chi-square goodness-of-fit of sample lines (comma-separated ids) against an exact law.
///
/// Outcomes with expected count below 5 are pooled into one cell. The critical value uses the
/// Wilson–Hilferty normal approximation of the chi-square quantile.
struct ChiSquare {
    let statistic: Double
    let degreesOfFreedom: Int

    init(expected law: [[Token]: Double], observedLines text: String) {
        var counts: [[Token]: Int] = [:]
        var n = 0
        for line in text.split(separator: "\n") {
            counts[line.split(separator: ",").map { Int($0)! }, default: 0] += 1
            n += 1
        }
        var statistic = 0.0
        var cells = 0
        var pooledExpected = 0.0
        var pooledObserved = 0
        for (outcome, p) in law {
            let e = p * Double(n)
            let o = counts[outcome, default: 0]
            if e < 5 {
                pooledExpected += e
                pooledObserved += o
            } else {
                statistic += (Double(o) - e) * (Double(o) - e) / e
                cells += 1
            }
        }
        // Outcomes the law gives probability 0 land in the pooled cell.
        pooledObserved += counts.filter { law[$0.key] == nil }.values.reduce(0, +)
        if pooledExpected > 0 {
            statistic += (Double(pooledObserved) - pooledExpected) * (Double(pooledObserved) - pooledExpected) / pooledExpected
            cells += 1
        } else if pooledObserved > 0 {
            statistic = .infinity
        }
        self.statistic = statistic
        self.degreesOfFreedom = max(1, cells - 1)
    }

    /// True when the statistic is below the (1 − alpha) quantile.
    func passes(alpha: Double) -> Bool {
        let k = Double(degreesOfFreedom)
        let z = ChiSquare.normalQuantile(1 - alpha)
        let h = 2 / (9 * k)
        let critical = k * pow(1 - h + z * h.squareRoot(), 3)
        return statistic < critical
    }

    /// The standard normal quantile by bisection on erfc.
    static func normalQuantile(_ p: Double) -> Double {
        var low = -10.0, high = 10.0
        for _ in 0..<200 {
            let mid = (low + high) / 2
            if 0.5 * erfc(-mid / 2.0.squareRoot()) < p { low = mid } else { high = mid }
        }
        return (low + high) / 2
    }
}
