using Microsoft.Extensions.Logging;
using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.Core.Workloads;

namespace RuntimeSentinel.Detection.Shards;

/// <summary>
/// What every shard of a pipeline is given alike: the settings, where alerts go, the metrics, the clock, the log, the
/// alert rate and state the shards share, and the checkpoint store. One record, so a shard (and each of its parts) is
/// built from it and its own index rather than from a dozen arguments passed down in order.
/// </summary>
internal sealed record ShardContext(
    DetectionOptions Options,
    IAlertPublisher Alerts,
    DetectionMetrics Metrics,
    TimeProvider Time,
    ILogger Logger,
    AlertRate Rate,
    ShardShared Shared,
    IWorkloadStateStore StateStore);
