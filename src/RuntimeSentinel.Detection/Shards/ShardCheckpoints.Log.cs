using Microsoft.Extensions.Logging;

namespace RuntimeSentinel.Detection.Shards;

internal sealed partial class ShardCheckpoints
{
    [LoggerMessage(EventId = 2020, Level = LogLevel.Information, Message = "Workload {Workload} restored from its checkpoint of {WrittenAt:o}: {Phase}, {Items} items, model {Model}")]
    private static partial void LogRestored(ILogger logger, string workload, DateTimeOffset writtenAt, string phase, long items, string model);

    [LoggerMessage(EventId = 2021, Level = LogLevel.Warning, Message = "Workload {Workload}: its checkpoint is refused ({Reason}); it learns again")]
    private static partial void LogRestoreRefused(ILogger logger, string workload, string reason);

    [LoggerMessage(EventId = 2022, Level = LogLevel.Error, Message = "Workload {Workload} could not be checkpointed")]
    private static partial void LogCheckpointFailed(ILogger logger, Exception ex, string workload);
}
