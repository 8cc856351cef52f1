import ArgumentParser
import Foundation
import SpeculaCluster

/// `--max-requests --max-queue --kv-cache-bytes`: how many requests the coordinator generates at
/// once, how many may wait, and how much KV-cache memory the running ones may hold together.
struct AdmissionOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Requests generated at once.",
                               discussion: "Default: as many as the KV budget holds at 4,096 positions each, at most 256."))
    var maxRequests: Int?
    @Option(help: "Requests waiting for a place; past it a request is refused as overloaded (HTTP 429).") var maxQueue = 1024
    @Option(help: ArgumentHelp("KV-cache bytes the running requests may hold together, e.g. 6G or 512M.",
                               discussion: "Default: 40 % of physical memory. Past it, the newest requests are preempted and read again later."))
    var kvCacheBytes: String?
    @Flag(inversion: .prefixedNo, help: ArgumentHelp(
        "Keep finished requests' KV caches, within the budget, for prompts that begin the same way.",
        discussion: "A chat's next turn then reads only its new tokens; the output is unchanged."))
    var promptCache = true

    /// Positions per request the default --max-requests plans for.
    static let typicalPositions = 4096

    func validate() throws {
        if let maxRequests, maxRequests < 1 { throw ValidationError("--max-requests must be ≥ 1.") }
        guard maxQueue >= 0 else { throw ValidationError("--max-queue must be ≥ 0.") }
        _ = try budget()
    }

    /// The limits for a coordinator of `target`: a budget only for a model with a KV cache.
    func limits(for target: ClusterModel) throws -> AdmissionControl.Limits {
        var limits = AdmissionControl.Limits()
        limits.maxWaiting = maxQueue
        guard target.kvBytesPerPosition > 0 else {
            limits.maxRunning = maxRequests ?? 256
            return limits
        }
        let budget = try budget()
        limits.kvCacheBytes = budget
        let typical = AdmissionControl(limits: limits, bytesPerPosition: target.kvBytesPerPosition, pagePositions: target.kvPagePositions)
            .bytes(positions: Self.typicalPositions)
        limits.maxRunning = maxRequests ?? min(256, max(1, budget / typical))
        return limits
    }

    /// --kv-cache-bytes in bytes: a number with an optional K, M or G (powers of 1024).
    private func budget() throws -> Int {
        guard let kvCacheBytes else { return Int(Double(ProcessInfo.processInfo.physicalMemory) * 0.4) }
        let text = kvCacheBytes.trimmingCharacters(in: .whitespaces).uppercased()
        let units: [Character: Double] = ["K": 1024, "M": 1024 * 1024, "G": 1024 * 1024 * 1024]
        let (digits, scale) = text.last.flatMap { units[$0] }.map { (String(text.dropLast()), $0) } ?? (text, 1)
        guard let value = Double(digits), value.isFinite, value > 0, value * scale < 1e18 else {
            throw ValidationError("--kv-cache-bytes takes a positive size such as 6G, 512M or 1048576, got '\(kvCacheBytes)'.")
        }
        return Int(value * scale)
    }
}
