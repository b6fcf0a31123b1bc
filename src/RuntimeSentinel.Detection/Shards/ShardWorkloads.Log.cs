using Microsoft.Extensions.Logging;

namespace RuntimeSentinel.Detection.Shards;

internal sealed partial class ShardWorkloads
{
    [LoggerMessage(EventId = 2003, Level = LogLevel.Warning, Message = "Evicted idle workload {Workload}: MaxWorkloads reached")]
    private static partial void LogEvicted(ILogger logger, string workload);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Error, Message = "Detection shard {Shard} failed processing an event of {Workload}")]
    private static partial void LogShardError(ILogger logger, Exception ex, int shard, string workload);

    [LoggerMessage(EventId = 2016, Level = LogLevel.Warning, Message = "Workload {Workload}: container appeared in an active workload ({How}) in pod {Pod}, image {Image}")]
    private static partial void LogContainerAdded(ILogger logger, string workload, string how, string pod, string image);
}
