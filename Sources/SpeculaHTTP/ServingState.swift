import Synchronization
package import SpeculaCluster

/// Whether the server can take work yet: the HTTP port opens before the target loads (so health
/// checks see "loading", 503, rather than a refused connection) and routes serve once it is ready.
package final class ServingState: Sendable {
    /// What the routes serve with, once the coordinator runs.
    package struct Ready: Sendable {
        package let model: OpenAIServer.Model
        package let coordinator: CoordinatorServer

        package init(model: OpenAIServer.Model, coordinator: CoordinatorServer) {
            self.model = model
            self.coordinator = coordinator
        }
    }

    private let state = Mutex<Ready?>(nil)

    package init() {}

    package func becomeReady(_ ready: Ready) { state.withLock { $0 = ready } }

    /// What serves requests now, or a 503 while the model loads.
    func ready() throws(OpenAIError) -> Ready {
        guard let ready = state.withLock({ $0 }) else { throw OpenAIError(.serviceUnavailable, "Loading model") }
        return ready
    }
}
