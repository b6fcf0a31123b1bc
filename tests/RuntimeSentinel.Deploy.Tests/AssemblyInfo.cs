// These tests each run a real daemon (and Prometheus, Alertmanager or a receiver) on a 2-core machine; run them one
// at a time so that CPU contention does not stretch a demo's learning phase past its fixed duration.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
