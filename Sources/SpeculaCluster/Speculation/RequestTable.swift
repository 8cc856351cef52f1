/// The requests in flight and the clients they belong to: the coordinator's ids, each client's
/// own request ids, and which client peers are connected. Owns every `GenerationRequest`; others
/// change one through `update`, never through a copy written back later.
package struct RequestTable {
    private(set) var requests: [UInt64: GenerationRequest] = [:]
    /// Each connected client's requests in flight: its request id → the coordinator's.
    private var clients: [UInt64: [UInt64: UInt64]] = [:]
    private var nextID: UInt64 = 1

    subscript(id: UInt64) -> GenerationRequest? { requests[id] }

    var count: Int { requests.count }
    /// The requests in flight, in the order they started.
    var ids: [UInt64] { requests.keys.sorted() }

    func isClient(_ peer: UInt64) -> Bool { clients[peer] != nil }
    mutating func addClient(_ peer: UInt64) { clients[peer] = [:] }

    /// How many requests a client has in flight, and the coordinator's id of one of them.
    func inFlight(of client: UInt64) -> Int { clients[client]?.count ?? 0 }
    func id(of clientRequestID: UInt64, from client: UInt64) -> UInt64? { clients[client]?[clientRequestID] }

    /// The id the next request gets.
    mutating func nextRequestID() -> UInt64 {
        defer { nextID += 1 }
        return nextID
    }

    mutating func add(_ request: GenerationRequest) {
        requests[request.id] = request
        clients[request.client, default: [:]][request.clientRequestID] = request.id
    }

    /// Changes a request in flight; returns nil (and changes nothing) when it is not.
    @discardableResult
    mutating func update<Result>(_ id: UInt64, _ change: (inout GenerationRequest) -> Result) -> Result? {
        guard var request = requests[id] else { return nil }
        defer { requests[id] = request }
        return change(&request)
    }

    /// Removes a request (and its place in its client's table).
    mutating func remove(_ id: UInt64) -> GenerationRequest? {
        guard let request = requests.removeValue(forKey: id) else { return nil }
        clients[request.client]?[request.clientRequestID] = nil
        return request
    }

    /// Removes a client that left; returns its requests still in flight.
    mutating func removeClient(_ peer: UInt64) -> [UInt64] {
        (clients.removeValue(forKey: peer) ?? [:]).values.sorted()
    }
}
