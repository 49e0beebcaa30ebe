import Foundation
import Synchronization

/// Keeps every CPU out of deep idle while a network lab is up.
///
/// The lab's delay line wakes from `ppoll` for each packet; from a deep C-state this VM wakes it up
/// to ~0.5 ms late per traversal, which shifts a 20 ms RTT by ~1 ms when nothing else runs (seen
/// in the icmp benchmark: ping read 10.54 ± 0.53 ms idle and 10.12 ± 0.05 ms busy). One spinner per
/// CPU under SCHED_IDLE (`chrt --idle`, util-linux) keeps the cores awake and is preempted by any
/// other task at once, the SCHED_FIFO delay line included. Shared by reference count across labs built in parallel.
enum KeepCPUsAwake {
    private struct State {
        var users = 0
        var spinners: [ChildProcess] = []
    }
    private static let state = Mutex(State())

    static func acquire() {
        state.withLock { state in
            state.users += 1
            guard state.users == 1 else { return }
            let cpus = max(1, ProcessInfo.processInfo.activeProcessorCount)
            // try?: without spinners the lab still works, only less precisely on an idle machine.
            state.spinners = (0..<cpus).compactMap { _ in
                try? ChildProcess.spawn("/usr/bin/chrt", ["--idle", "0", "/bin/sh", "-c", "while :; do :; done"])
            }
        }
    }

    static func release() {
        let stopping = state.withLock { state -> [ChildProcess] in
            state.users = max(0, state.users - 1)
            guard state.users == 0 else { return [] }
            defer { state.spinners = [] }
            return state.spinners
        }
        for spinner in stopping { spinner.stop() }
    }
}
