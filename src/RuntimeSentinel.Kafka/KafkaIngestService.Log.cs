using Microsoft.Extensions.Logging;

namespace RuntimeSentinel.Kafka;

// Event ids 1301-1303, 1306, 1307 and 1312 are logged by the collaborators (PartitionAssignments, DetectionHandoff)
// under this type's category.
public sealed partial class KafkaIngestService
{
    [LoggerMessage(EventId = 1300, Level = LogLevel.Information, Message = "Consuming {Topics} as group {Group}")]
    private static partial void LogSubscribed(ILogger logger, string topics, string group);

    [LoggerMessage(EventId = 1304, Level = LogLevel.Warning, Message = "Kafka client error {Code}: {Reason}")]
    private static partial void LogKafkaError(ILogger logger, string code, string reason);

    [LoggerMessage(EventId = 1305, Level = LogLevel.Critical, Message = "Ingestion stopped by an unrecoverable error: {Reason}")]
    private static partial void LogFatal(ILogger logger, Exception ex, string reason);

    [LoggerMessage(EventId = 1308, Level = LogLevel.Information, Message = "Ingestion stopped: {Events} events ingested, {Rejected} rejected; drained and committed in {Ms} ms")]
    private static partial void LogStopped(ILogger logger, long events, long rejected, long ms);

    [LoggerMessage(EventId = 1311, Level = LogLevel.Warning, Message = "Checkpoints on revoke not confirmed within 10 s; the next owner may learn some workloads again")]
    private static partial void LogCheckpointOnRevokeTimedOut(ILogger logger);

    [LoggerMessage(EventId = 1310, Level = LogLevel.Warning, Message = "The consumer did not leave its group within {Seconds} s (a rebalance in progress); offsets are committed, the coordinator will expire the member")]
    private static partial void LogCloseTimedOut(ILogger logger, double seconds);

    [LoggerMessage(EventId = 1313, Level = LogLevel.Warning, Message = "Messages skipped: a partition's position was outside the retained log and was reset ({Line})")]
    private static partial void LogOffsetReset(ILogger logger, string line);

    [LoggerMessage(EventId = 1314, Message = "Kafka client [{Facility}]: {Line}")]
    private static partial void LogClient(ILogger logger, LogLevel level, string facility, string line);

    [LoggerMessage(EventId = 1309, Level = LogLevel.Error, Message = "Error while stopping ingestion")]
    private static partial void LogShutdownError(ILogger logger, Exception ex);
}
