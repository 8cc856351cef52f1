import SpeculaCore
import SpeculaModel
import SpeculaNet

/// Starting, cancelling and ending generations.
extension SpeculationCore {
    /// A client's `Generate`: checked at the door (`GenerationSpec`), refused when the client has
    /// too many in flight or reuses the id of one, else placed by admission (runs, waits for room
    /// or is refused as overloaded).
    mutating func start(_ generate: GenerateRequest, from client: UInt64, at now: ContinuousClock.Instant) {
        func refuse(_ code: WireErrorCode, _ kind: String, _ why: String) {
            metrics.add(CoordinatorMetrics.requestErrors, labels: ["kind": kind])
            send(.error(ErrorMessage(code: code, message: why, requestID: generate.requestID)), to: client)
        }
        guard requests.id(of: generate.requestID, from: client) == nil else {
            return refuse(.badRequest, "bad_request", "request_id \(generate.requestID) is already in flight on this connection")
        }
        let inFlight = requests.inFlight(of: client)
        guard inFlight < options.maxRequestsPerClient else {
            return refuse(.unavailable, "too_many_requests", "this connection has \(inFlight) requests in flight, the most it may have; retry when one ends")
        }
        let spec: GenerationSpec
        do {
            spec = try GenerationSpec(generate, target: target, limits: options.limits)
        } catch {
            return refuse(.badRequest, "bad_request", error.description)
        }
        let id = requests.nextRequestID()
        let request = GenerationRequest(
            id: id, client: client, clientRequestID: generate.requestID, promptLength: spec.promptTokens.count, context: spec.promptTokens,
            maxTokens: spec.maxTokens, sampling: spec.sampling, seed: spec.seed, verifier: spec.verifier.makeVerifier(),
            mixesPools: spec.verifier.acceptsMixedDrafts,            drafts: spec.drafts, blockLength: spec.blockLength, adaptive: spec.adaptive, choices: makeChoices(spec.seed),
            text: target.tokenizer.map { StreamingDecoder(tokenizer: $0) }, stopFilter: StopStringFilter(spec.stop), started: now)
        if let refusal = admit(request) { return refuse(refusal.code, refusal.kind, refusal.message) }
        metrics.add(CoordinatorMetrics.requestsStarted)
        metrics.observe(CoordinatorMetrics.promptTokens, Double(spec.promptTokens.count))
        metrics.set(CoordinatorMetrics.requestsInFlight, Double(requests.count))
        logger.debug("request started", metadata: ["request.id": "\(id)", "prompt.tokens": "\(spec.promptTokens.count)", "max.tokens": "\(spec.maxTokens)"])
    }

    /// A client's `Cancel`: the request ends with `Done(cancelled)`; an id not in flight is ignored.
    mutating func cancel(_ cancel: Cancel, from client: UInt64, at now: ContinuousClock.Instant) {
        guard let id = requests.id(of: cancel.requestID, from: client), let request = requests[id] else { return }
        send(.done(request.done(.cancelled, at: now)), to: client)
        end(id, reason: .cancelled)
    }

    /// Drops a request that ended: its target state, its workers' drafts (they are told to stop)
    /// and its place in its client's table.
    mutating func end(_ id: UInt64, reason: FinishReason) {
        guard requests.remove(id) != nil else { return }
        admission.leave(id)
        updateAdmissionGauges()
        outbox.append(.release(request: id))
        metrics.add(CoordinatorMetrics.requestsFinished, labels: ["reason": reason.metricLabel])
        metrics.set(CoordinatorMetrics.requestsInFlight, Double(requests.count))
        for worker in workers.forget(request: id) { send(.cancel(Cancel(requestID: id, reason: reason.metricLabel)), to: worker) }
        logger.debug("request ended", metadata: ["request.id": "\(id)", "reason": "\(reason.metricLabel)"])
    }
}
