using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;
using RuntimeSentinel.Core.Text;

namespace RuntimeSentinel.Daemon;

/// <summary>
/// The daemon's log line: <c>HH:mm:ss level: category[event id] message</c>, one line per entry (the simple console
/// format, single line), with every control character of the message and exception escaped. Log messages carry what
/// events said (workload names, pods, images, paths, decoder errors quoting a field): a newline or an ANSI escape in
/// one must not forge a log line for the shipper reading <c>kubectl logs</c>, nor rewrite the reader's terminal.
/// </summary>
internal sealed class SentinelConsoleFormatter(TimeProvider time) : ConsoleFormatter(FormatterName)
{
    public const string FormatterName = "sentinel";

    public override void Write<TState>(in LogEntry<TState> logEntry, IExternalScopeProvider? scopeProvider, TextWriter textWriter)
    {
        var message = logEntry.Formatter?.Invoke(logEntry.State, logEntry.Exception);
        if (message is null && logEntry.Exception is null)
        {
            return;
        }

        textWriter.Write(time.GetUtcNow().UtcDateTime.ToString("HH:mm:ss ", System.Globalization.CultureInfo.InvariantCulture));
        textWriter.Write(logEntry.LogLevel switch
        {
            LogLevel.Trace => "trce",
            LogLevel.Debug => "dbug",
            LogLevel.Information => "info",
            LogLevel.Warning => "warn",
            LogLevel.Error => "fail",
            LogLevel.Critical => "crit",
            _ => "none",
        });
        textWriter.Write(": ");
        textWriter.Write(logEntry.Category);
        textWriter.Write('[');
        textWriter.Write(logEntry.EventId.Id);
        textWriter.Write("] ");
        textWriter.Write(ControlCharacters.Escape(message));
        if (logEntry.Exception is { } ex)
        {
            textWriter.Write(' ');
            textWriter.Write(ControlCharacters.Escape(ex.ToString()));
        }

        textWriter.WriteLine();
    }
}
