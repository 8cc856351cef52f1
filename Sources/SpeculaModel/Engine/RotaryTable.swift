import Foundation

/// The cosines and sines of rotary position embedding for the tokens of one pass:
/// `cosines[t·half + i] = cos(position_t · base^(−2i/headSize))` (and sines), computed once per
/// pass rather than for every layer and head (a 512-token prompt pass of the 1.5B would otherwise
/// take 25 million cosine and sine pairs).
struct RotaryTable {
    let positions: Int
    let cosines: [Float]
    let sines: [Float]

    init(positions: [Int], headSize: Int, base: Float) {
        let half = headSize / 2
        let inverseFrequencies = (0..<half).map { Foundation.pow(base, -Float(2 * $0) / Float(headSize)) }
        var cosines = [Float](repeating: 0, count: positions.count * half), sines = cosines
        for (t, position) in positions.enumerated() {
            for i in 0..<half {
                let angle = Float(position) * inverseFrequencies[i]
                cosines[t * half + i] = Foundation.cos(angle)
                sines[t * half + i] = Foundation.sin(angle)
            }
        }
        self.positions = positions.count
        self.cosines = cosines
        self.sines = sines
    }
}
