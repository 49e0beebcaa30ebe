import Foundation

/// ITU-T G.107 E-model for a G.711 call, from what a UDP stream measured.
///
/// R = Ro − Is − Id − Ie,eff + A with the G.107 default parameters (Ro − Is = 93.2, A = 0). Id is the
/// delay impairment Idd of the mouth-to-ear delay Ta (one-way network delay + a jitter buffer of twice
/// the jitter + 20 ms packetisation); the echo terms are taken at their defaults (negligible with echo
/// control). Ie,eff uses G.113 Appendix I values for G.711 with packet-loss concealment: Ie = 0,
/// Bpl = 25.1, random loss (BurstR = 1). MOS from R by G.107 Annex B.
public enum EModel {
    public static let codec = "G.711"

    public static func rFactor(oneWayDelay: Duration, jitter: Duration, lossPercent: Double) -> Double {
        let ta = oneWayDelay.microseconds / 1000 + 2 * jitter.microseconds / 1000 + 20
        var idd = 0.0
        if ta > 100 {
            let x = log10(ta / 100) / log10(2)
            idd = 25 * (pow(1 + pow(x, 6), 1.0 / 6) - 3 * pow(1 + pow(x / 3, 6), 1.0 / 6) + 2)
        }
        let ie = 0.0
        let bpl = 25.1
        let ppl = max(0, min(100, lossPercent))
        let ieEff = ie + (95 - ie) * ppl / (ppl + bpl)
        return max(0, min(100, 93.2 - idd - ieEff))
    }

    public static func mos(rFactor r: Double) -> Double {
        if r <= 0 { return 1 }
        if r >= 100 { return 4.5 }
        return 1 + 0.035 * r + r * (r - 60) * (100 - r) * 7e-6
    }

    public static func quality(oneWayDelay: Duration, jitter: Duration, lossPercent: Double) -> VoiceQuality {
        let r = rFactor(oneWayDelay: oneWayDelay, jitter: jitter, lossPercent: lossPercent)
        return VoiceQuality(rFactor: r, mos: mos(rFactor: r), codec: codec)
    }
}
