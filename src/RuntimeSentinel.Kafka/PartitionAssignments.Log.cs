using Microsoft.Extensions.Logging;

namespace RuntimeSentinel.Kafka;

internal sealed partial class PartitionAssignments
{
    [LoggerMessage(EventId = 1301, Level = LogLevel.Information, Message = "Assigned {Count} partitions: {Partitions}")]
    private static partial void LogAssigned(ILogger logger, int count, string partitions);

    [LoggerMessage(EventId = 1302, Level = LogLevel.Information, Message = "Revoked {Count} partitions")]
    private static partial void LogRevoked(ILogger logger, int count);

    [LoggerMessage(EventId = 1306, Level = LogLevel.Debug, Message = "Could not store offset {Position}: {Reason}")]
    private static partial void LogStoreFailed(ILogger logger, string position, string reason);

    [LoggerMessage(EventId = 1307, Level = LogLevel.Warning, Message = "Offset commit failed: {Reason}")]
    private static partial void LogCommitFailed(ILogger logger, string reason);
}
