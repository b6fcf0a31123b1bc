using Microsoft.Extensions.Logging;

namespace RuntimeSentinel.Alerting;

public sealed partial class AlertDispatcher
{
    [LoggerMessage(EventId = 3000, Level = LogLevel.Information, Message = "Alert delivery started; sinks: {Sinks}")]
    private static partial void LogStarted(ILogger logger, string sinks);

    [LoggerMessage(EventId = 3001, Level = LogLevel.Warning, Message = "Alert queue full; dropped {Category} alert for {Workload}")]
    private static partial void LogDropped(ILogger logger, string workload, string category);

    [LoggerMessage(EventId = 3005, Level = LogLevel.Error, Message = "Alert for {Workload} ({Category}) could not be processed; dropped and counted")]
    private static partial void LogAlertFailed(ILogger logger, Exception ex, string workload, string category);

    [LoggerMessage(EventId = 3006, Level = LogLevel.Error, Message = "Alert dispatcher: {Step} failed; going on")]
    private static partial void LogStepFailed(ILogger logger, Exception ex, string step);

    [LoggerMessage(EventId = 3007, Level = LogLevel.Critical, Message = "Alert dispatcher stopped on an unexpected error; the process is unhealthy")]
    private static partial void LogFaulted(ILogger logger, Exception ex);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Information, Message = "Suppression rules loaded from {File}: {Count} rules")]
    private static partial void LogSuppressionLoaded(ILogger logger, string file, int count);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Error, Message = "Suppression file {File} is invalid; keeping the previous rules: {Errors}")]
    private static partial void LogSuppressionInvalid(ILogger logger, string file, string errors);
}
