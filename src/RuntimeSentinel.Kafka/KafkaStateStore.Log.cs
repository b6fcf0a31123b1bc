using Microsoft.Extensions.Logging;

namespace RuntimeSentinel.Kafka;

internal sealed partial class KafkaStateStore
{
    [LoggerMessage(EventId = 1508, Level = LogLevel.Information, Message = "Embedded Kafka without Kafka:StateDirectory: workload checkpoints are kept in memory only and do not survive a restart")]
    private static partial void LogNotPersistent(ILogger logger);

    [LoggerMessage(EventId = 1500, Level = LogLevel.Information, Message = "State table read to its end: {Workloads} workload checkpoints, {Bytes} bytes, in {Ms} ms")]
    private static partial void LogRestored(ILogger logger, int workloads, long bytes, long ms);

    [LoggerMessage(EventId = 1501, Level = LogLevel.Warning, Message = "State topic not read to its end within {Seconds} s ({Workloads} checkpoints so far); ingestion starts, later checkpoints still arrive")]
    private static partial void LogRestoreTimedOut(ILogger logger, double seconds, int workloads);

    [LoggerMessage(EventId = 1502, Level = LogLevel.Warning, Message = "Checkpoint of {Workload} not written to the state topic: {Reason}")]
    private static partial void LogWriteFailed(ILogger logger, string workload, string reason);

    [LoggerMessage(EventId = 1503, Level = LogLevel.Warning, Message = "State topic reader: {Code} {Reason}")]
    private static partial void LogReaderError(ILogger logger, string code, string reason);

    [LoggerMessage(EventId = 1504, Level = LogLevel.Critical, Message = "State topic reader stopped on an unexpected error; the process is unhealthy")]
    private static partial void LogReaderFaulted(ILogger logger, Exception ex);

    [LoggerMessage(EventId = 1506, Level = LogLevel.Warning, Message = "State table not caught up within {Seconds} s of an assignment; workloads that moved here may learn again")]
    private static partial void LogCatchUpTimedOut(ILogger logger, double seconds);

    [LoggerMessage(EventId = 1505, Level = LogLevel.Warning, Message = "State topic {Topic} does not exist: no checkpoint to restore (create it compacted, or set Kafka:CreateTopics)")]
    private static partial void LogNoTopic(ILogger logger, string topic);
}
