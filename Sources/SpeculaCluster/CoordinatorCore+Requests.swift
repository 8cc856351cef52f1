import Foundation
import Logging
import SpeculaCore
import SpeculaModel
import SpeculaNet

/// Starting and cancelling generations.
extension CoordinatorCore {
    /// A client's `Generate`: checked at the door (`GenerationSpec`), refused when the client has
    /// too many in flight or reuses the id of one, else started.
    func start(_ generate: GenerateRequest, from client: Connection) {
        func refuse(_ code: WireErrorCode, _ kind: String, _ why: String) {
            metrics.add(CoordinatorMetrics.requestErrors, labels: ["kind": kind])
            client.send(.error(ErrorMessage(code: code, message: why, requestID: generate.requestID)))
        }
        guard case .client(var state) = peers[client.id] else { return }
        guard state.requests[generate.requestID] == nil else {
            return refuse(.badRequest, "bad_request", "request_id \(generate.requestID) is already in flight on this connection")
        }
        guard state.requests.count < options.maxRequestsPerClient else {
            return refuse(.unavailable, "too_many_requests",
                          "this connection has \(state.requests.count) requests in flight, the most it may have; retry when one ends")
        }
        let spec: GenerationSpec
        do {
            spec = try GenerationSpec(generate, target: target, limits: options.limits)
        } catch {
            return refuse(.badRequest, "bad_request", error.description)
        }
        let id = nextRequestID
        nextRequestID += 1
        state.requests[generate.requestID] = id
        peers[client.id] = .client(state)
        requests[id] = GenerationRequest(
            id: id, client: client, clientRequestID: generate.requestID, promptLength: spec.promptTokens.count, context: spec.promptTokens,
            maxTokens: spec.maxTokens, sampling: spec.sampling, seed: spec.seed, verifier: spec.verifier.makeVerifier(),
            drafts: spec.drafts, blockLength: spec.blockLength, adaptive: spec.adaptive,
            choices: StreamChoices(RandomStream(seed: spec.seed, stream: .max)),
            text: target.tokenizer.map { StreamingDecoder(tokenizer: $0) }, stop: spec.stop)
        metrics.add(CoordinatorMetrics.requestsStarted)
        metrics.set(CoordinatorMetrics.requestsInFlight, Double(requests.count))
        logger.debug("request started", metadata: ["request.id": "\(id)", "prompt.tokens": "\(spec.promptTokens.count)", "max.tokens": "\(spec.maxTokens)"])
        schedule()
    }

    /// A client's `Cancel`: the request ends with `Done(cancelled)`; an id not in flight is ignored.
    func cancel(_ cancel: Cancel, from client: Connection) {
        guard case .client(let state) = peers[client.id], let id = state.requests[cancel.requestID], let request = requests[id] else { return }
        var done = request.done(.cancelled)
        done.requestID = cancel.requestID
        client.send(.done(done))
        end(id, reason: .cancelled)
    }

    /// Drops a request that ends without its tokens finishing it (cancelled, or its client gone):
    /// its target state, its workers' drafts and its place in its client's table.
    func end(_ id: UInt64, reason: FinishReason) {
        guard let request = requests.removeValue(forKey: id) else { return }
        if case .client(var state) = peers[request.client.id] {
            state.requests[request.clientRequestID] = nil
            peers[request.client.id] = .client(state)
        }
        scorer.release(request: id)
        forgetPending(id)
        metrics.add(CoordinatorMetrics.requestsFinished, labels: ["reason": reason.metricLabel])
        metrics.set(CoordinatorMetrics.requestsInFlight, Double(requests.count))
        for (connectionID, peer) in peers {
            guard case .worker(var worker) = peer, worker.synced.removeValue(forKey: id) != nil else { continue }
            worker.connection.send(.cancel(Cancel(requestID: id, reason: reason.metricLabel)))
            peers[connectionID] = .worker(worker)
        }
        logger.debug("request ended", metadata: ["request.id": "\(id)", "reason": "\(reason.metricLabel)"])
    }
}
