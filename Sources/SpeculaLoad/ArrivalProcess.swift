import Foundation
package import SpeculaCore

/// When simulated clients send their requests.
///
/// Closed loop: a fixed number of clients, each sending its next request when the previous one
/// finished (offered load adapts to the server). Open loop: arrivals at a rate regardless of the
/// server — evenly spaced, Poisson (exponential gaps), or gamma gaps whose `burstiness` (the shape)
/// below 1 bunches arrivals and above 1 smooths them, at the same mean rate.
package enum ArrivalProcess: Sendable, Equatable {
    case closed(concurrency: Int)
    case constant(rate: Double)
    case poisson(rate: Double)
    case gamma(rate: Double, burstiness: Double)

    package var isOpenLoop: Bool {
        if case .closed = self { return false }
        return true
    }

    /// Requests per second (open loop) or clients (closed loop): the x axis of a sweep.
    package var offeredLoad: Double {
        switch self {
        case .closed(let n): Double(n)
        case .constant(let r), .poisson(let r), .gamma(let r, _): r
        }
    }

    package var description: String {
        switch self {
        case .closed(let n): "closed loop, \(n) clients"
        case .constant(let r): "constant \(r) req/s"
        case .poisson(let r): "Poisson \(r) req/s"
        case .gamma(let r, let b): "gamma \(r) req/s, burstiness \(b)"
        }
    }

    /// The same process at another load (a sweep step).
    package func at(load: Double) -> ArrivalProcess {
        switch self {
        case .closed: .closed(concurrency: max(1, Int(load.rounded())))
        case .constant: .constant(rate: load)
        case .poisson: .poisson(rate: load)
        case .gamma(_, let b): .gamma(rate: load, burstiness: b)
        }
    }

    /// Seconds to the next arrival at `rateScale` × the nominal rate (ramp-up); open loop only.
    package func nextGap(rateScale: Double, random: inout RandomStream) -> Double {
        let scale = max(rateScale, 0.05)
        switch self {
        case .closed: return 0
        case .constant(let r): return 1 / (r * scale)
        case .poisson(let r): return -log(1 - random.nextUnit()) / (r * scale)
        case .gamma(let r, let shape): return Self.gamma(shape: shape, random: &random) / (shape * r * scale)
        }
    }

    /// A Gamma(shape, 1) draw (Marsaglia and Tsang; shape < 1 through Gamma(shape + 1) · U^(1/shape)).
    static func gamma(shape: Double, random: inout RandomStream) -> Double {
        if shape < 1 {
            return gamma(shape: shape + 1, random: &random) * pow(1 - random.nextUnit(), 1 / shape)
        }
        let d = shape - 1.0 / 3, c = 1 / (9 * d).squareRoot()
        while true {
            var x = 0.0, v = 0.0
            repeat {
                // Box–Muller normal.
                let u1 = 1 - random.nextUnit(), u2 = random.nextUnit()
                x = (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
                v = 1 + c * x
            } while v <= 0
            v = v * v * v
            let u = 1 - random.nextUnit()
            if log(u) < 0.5 * x * x + d - d * v + d * log(v) { return d * v }
        }
    }
}
