/// A seeded, splittable pseudo-random generator: xoshiro256** seeded through SplitMix64.
///
/// Why: every request and every draft needs its own independent, reproducible stream, on
/// different machines, without coordination. A stream is named by `(seed, streamID)`: the four
/// state words are four successive SplitMix64 outputs of `seed ⊕ mix(streamID)`, where `mix` is
/// SplitMix64's finaliser. `split(_:)` derives a child stream the same way from this stream's
/// name, so `RandomStream(seed: s, stream: a).split(b)` is a pure function of `(s, a, b)`.
///
/// Algorithms: D. Blackman and S. Vigna, "Scrambled linear pseudorandom number generators" (2021)
/// for xoshiro256**; SplitMix64 from G. Steele, D. Lea, C. Flood (OOPSLA 2014).
package struct RandomStream: RandomNumberGenerator, Sendable {
    private var s0, s1, s2, s3: UInt64
    /// The name this stream was derived from (seed mixed with its stream id path).
    package let name: UInt64

    /// The stream `streamID` of generator `seed`.
    package init(seed: UInt64, stream streamID: UInt64 = 0) {
        let name = seed ^ RandomStream.mix(streamID &+ 0x9E37_79B9_7F4A_7C15)
        self.name = name
        var sm = name
        s0 = RandomStream.splitMix(&sm)
        s1 = RandomStream.splitMix(&sm)
        s2 = RandomStream.splitMix(&sm)
        s3 = RandomStream.splitMix(&sm)
    }

    /// An independent child stream, a pure function of this stream's name and `streamID`.
    package func split(_ streamID: UInt64) -> RandomStream {
        RandomStream(seed: RandomStream.mix(name), stream: streamID)
    }

    package mutating func next() -> UInt64 {
        let result = rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = rotl(s3, 45)
        return result
    }

    /// A uniform double in [0, 1) with 53 random bits.
    package mutating func nextUnit() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    private static func splitMix(_ state: inout UInt64) -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return mix(state)
    }

    /// SplitMix64's finaliser: a bijective 64-bit mix.
    package static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
