using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace RuntimeSentinel.Daemon.Tests;

public class LogFormatTests
{
    [Fact]
    public void Write_MessageQuotingHostileEventFields_OneLineWithEscapes()
    {
        var formatter = new SentinelConsoleFormatter(new FakeTimeProvider(new DateTimeOffset(2026, 12, 5, 13, 4, 5, TimeSpan.Zero)));
        var output = new StringWriter();
        var message = "Rejected: kind 'x\n14:00:00 info: forged[1] all clear\u001b[2J'";
        var entry = new LogEntry<string>(LogLevel.Warning, "RuntimeSentinel.Kafka.KafkaIngestService", new EventId(1303), message, new InvalidDataException("bad\r\nbyte"), (s, _) => s);
        formatter.Write(entry, null, output);

        var text = output.ToString();
        Assert.Single(text.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith(@"13:04:05 warn: RuntimeSentinel.Kafka.KafkaIngestService[1303] Rejected: kind 'x\n14:00:00 info: forged[1] all clear\x1b[2J' System.IO.InvalidDataException: bad\r\nbyte", text, StringComparison.Ordinal);
        Assert.False(text.TrimEnd('\n').Any(c => c < ' '), text);
    }
}
