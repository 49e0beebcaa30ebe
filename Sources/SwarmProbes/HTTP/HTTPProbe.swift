import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
// why: the probe speaks SwarmCore types (ProbeKind, ProbeObservation).
public import SwarmCore

/// GET or HEAD of a URL over HTTP/1.1 or HTTPS, with phase times as `curl -w` defines them and what
/// the response and TLS session were.
///
/// Phases (monotonic clock, stamped at socket events by handlers below TLS):
/// - dns: the getaddrinfo call, timed on the thread that makes it; nil when the host is an address
///   literal, because no lookup happens (curl reports ~0 there).
/// - connect: connect() issued → connection established. tls: established → the client sends its
///   first application_data record (its handshake is done).
/// - firstByte: the request's write → the socket read that brought the first response byte.
/// - transfer: that read → the read that brought the last byte. total: start of dns (or connect) →
///   response complete.
/// With redirects followed, the phases, status and sizes are those of the final request.
///
/// Status: `ok` for 2xx, and 3xx when redirects are not followed; `failed` for 4xx/5xx ("http 404
/// Not Found from URL"), an unmatched `expectSubstring`, a corrupt compressed body, a refused
/// connection or a TLS/certificate error (a certificate that fails verification is fetched again
/// without verification to say why and to report it); `timeout` at `spec.schedule.timeout` for the
/// whole run.
public struct HTTPProbe: Probe {
    public static let kind: ProbeKind = .http

    public init() {}

    public func run(_ context: ProbeContext) async -> ProbeObservation {
        let startedAt = Timestamp.now()
        let clock = ContinuousClock()
        let began = clock.now
        let outcome = await Self.measure(spec: context.spec, deadline: began + context.spec.schedule.timeout)
        return context.observation(
            kind: .http,
            startedAt: startedAt,
            duration: clock.now - began,
            status: outcome.status,
            reason: outcome.reason,
            result: .http(outcome.result)
        )
    }

    struct Outcome {
        var status: MeasurementStatus
        var reason: String
        var result: HTTPProbeResult
    }

    static func measure(spec: TestSpec, deadline: ContinuousClock.Instant) async -> Outcome {
        let options = spec.options.http
        var result = HTTPProbeResult()
        result.url = spec.target.url.isEmpty ? "\(spec.target.host):\(spec.target.port)" : spec.target.url
        guard var target = HTTPTarget.from(spec.target) else {
            return Outcome(
                status: .failed,
                reason: "http: \(result.url) is not an http:// or https:// URL",
                result: result
            )
        }
        let method: HTTPMethod
        switch options.method.uppercased() {
        case "GET", "": method = .GET
        case "HEAD": method = .HEAD
        default:
            return Outcome(
                status: .failed,
                reason: "http: method \"\(options.method)\" is not supported (use GET or HEAD)",
                result: result
            )
        }

        while true {
            result.url = target.description
            let attempt = await HTTPAttempt.run(target: target, method: method, spec: spec, deadline: deadline)
            attempt.fill(&result)
            if let failure = attempt.failure {
                let status: MeasurementStatus = failure.kind == .timeout ? .timeout : .failed
                return Outcome(status: status, reason: "http \(target): \(failure.message)", result: result)
            }
            guard let response = attempt.outcome.response else {
                return Outcome(status: .failed, reason: "http \(target): no response", result: result)
            }
            let isRedirect = [301, 302, 303, 307, 308].contains(response.statusCode) && !response.location.isEmpty
            if options.followRedirects && isRedirect {
                guard result.redirects < options.maxRedirects else {
                    return Outcome(
                        status: .failed,
                        reason: "http \(target): still redirecting (to \(response.location)) after "
                            + "\(result.redirects) redirects; the limit is maxRedirects \(options.maxRedirects)",
                        result: result
                    )
                }
                guard let next = target.resolving(location: response.location) else {
                    return Outcome(
                        status: .failed,
                        reason: "http \(target): redirect to \"\(response.location)\", which is not an http(s) URL",
                        result: result
                    )
                }
                result.redirects += 1
                target = next
                continue
            }
            return verdict(response: response, target: target, options: options, result: result)
        }
    }

    private static func verdict(
        response: HTTPExchangeOutcome.Response,
        target: HTTPTarget,
        options: TestSpec.HTTPOptions,
        result: HTTPProbeResult
    ) -> Outcome {
        if response.statusCode >= 400 {
            let reason = "http \(response.statusCode) \(response.reasonPhrase) from \(target)"
            return Outcome(status: .failed, reason: reason, result: result)
        }
        if let problem = response.decodingProblem {
            return Outcome(status: .failed, reason: "http \(target): \(problem)", result: result)
        }
        if result.bodyMatched == false {
            return Outcome(
                status: .failed,
                reason: "http \(target): the body does not contain \"\(options.expectSubstring)\"",
                result: result
            )
        }
        return Outcome(status: .ok, reason: "", result: result)
    }
}
