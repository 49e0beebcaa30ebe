// why: a backend is a ServiceLifecycle Service, so the protocol refines `Service` in public.
public import ServiceLifecycle

/// A concrete store the CLI opens and runs: every ``Store`` requirement, plus a lifetime.
///
/// `run()` carries the backend's change feed across processes (polling a change log on SQLite,
/// LISTEN/NOTIFY on PostgreSQL) until graceful shutdown or cancellation. Changes this handle makes
/// reach its own ``Store/changes`` subscribers whether or not `run()` is going; changes other
/// processes make reach them only while it is. Put the backend first in a `ServiceGroup`, so it
/// stops last and the services that subscribe keep hearing changes while they drain.
public protocol StoreBackend: Store, Service {}
