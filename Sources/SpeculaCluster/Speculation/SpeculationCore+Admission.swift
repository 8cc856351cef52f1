import SpeculaCore
import SpeculaNet

/// Admission: new requests run, wait or are refused (`AdmissionControl`); before each pass the
/// running ones are preempted when they outgrew the KV budget, and waiting ones let in when
/// there is room.
extension SpeculationCore {
    /// Why a checked request is refused: its wire code, metric kind and message.
    typealias Refusal = (code: WireErrorCode, kind: String, message: String)

    /// Places a checked request: it runs or waits (and is added); or it is refused (and is not),
    /// and the refusal is returned.
    mutating func admit(_ request: GenerationRequest) -> Refusal? {
        let positions = request.positions + request.maxTokens
        guard admission.fitsAlone(positions: positions) else {
            return (.badRequest, "bad_request", "max_tokens: the prompt and max_tokens need \(admission.bytes(positions: positions)) bytes "
                    + "of KV cache, more than this coordinator's whole budget (\(options.admission.kvCacheBytes ?? 0) bytes)")
        }
        let held = admission.heldBytes { requests[$0]?.positions ?? 0 }
        var request = request
        switch admission.arrive(request.id, positions: request.positions, held: held) {
        case .refuse:
            return (.overloaded, "overloaded", "the coordinator is at capacity (\(admission.running.count) requests running, "
                    + "\(admission.waiting.count) waiting); retry later")
        case .run:
            request.admitted = true
        case .wait:
            logger.debug("request waits for room", metadata: ["request.id": "\(request.id)", "waiting": "\(admission.waiting.count)"])
        }
        requests.add(request)
        updateAdmissionGauges()
        return nil
    }

    /// Preempts running requests that no longer fit together and lets waiting ones in that do.
    mutating func balanceAdmission() {
        let positions = { (id: UInt64) in self.requests[id]?.positions ?? 0 }
        for id in admission.preempt(positions: positions) { preempt(id) }
        for id in admission.admit(positions: positions) { requests.update(id) { $0.admitted = true } }
        updateAdmissionGauges()
    }

    /// A running request gives its KV cache back and waits to be let in again: its drafts stop
    /// (a new round starts from its context when it runs again) and the target reads its context
    /// anew then. Only timing changes: the tokens it is given are drawn as they would have been.
    private mutating func preempt(_ id: UInt64) {
        requests.update(id) { request in
            request.admitted = false
            (request.assignment, request.streams, request.audit) = ([:], [:], nil)
            (request.waitingSince, request.waitedPastDeadline) = (nil, false)
        }
        outbox.append(.release(request: id))
        for worker in workers.forget(request: id) { send(.cancel(Cancel(requestID: id, reason: "preempted")), to: worker) }
        metrics.add(CoordinatorMetrics.requestsPreempted)
        logger.info("request preempted to fit the KV-cache budget", metadata: ["request.id": "\(id)"])
    }

    func updateAdmissionGauges() {
        metrics.set(CoordinatorMetrics.requestsRunning, Double(admission.running.count))
        metrics.set(CoordinatorMetrics.requestsWaiting, Double(admission.waiting.count))
        metrics.set(CoordinatorMetrics.kvCacheBytesInUse, Double(admission.heldBytes { requests[$0]?.context.count ?? 0 }))
    }
}
