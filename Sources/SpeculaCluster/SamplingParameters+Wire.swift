package import SpeculaCore
package import SpeculaNet

extension SamplingParameters {
    /// The transform a request carries on the wire (nil sampling: temperature 1, no truncation).
    package init(wire: WireSampling?) {
        guard let wire else {
            self.init()
            return
        }
        self.init(temperature: wire.temperature, topK: Int(wire.topK), topP: wire.topP == 0 ? 1 : wire.topP, minP: wire.minP)
    }

    package var wire: WireSampling {
        WireSampling(temperature: temperature, topK: UInt32(topK), topP: topP, minP: minP)
    }
}
