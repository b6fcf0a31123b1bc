using System.Text;
using System.Text.Json;
using RuntimeSentinel.Core.Alerts;

namespace RuntimeSentinel.Alerting;

/// <summary>One human-readable line per alert on standard output, for <c>kubectl logs</c> and the demo.</summary>
public sealed class ConsoleAlertSink(TextWriter? output = null) : IAlertSink
{
    private readonly TextWriter _out = output ?? Console.Out;

    public string Name => "console";

    public static string Format(Alert a) =>
        $"ALERT {a.Time.UtcDateTime:yyyy-MM-ddTHH:mm:ss.fffZ} {a.Severity.ToWire().ToUpperInvariant(),-8} {a.Category,-19} {a.Workload.Value} node={a.Node ?? "-"} score={a.Score:0.00}>{a.Threshold:0.00} {a.Summary}";

    public async ValueTask WriteAsync(IReadOnlyList<Alert> batch, CancellationToken cancellationToken)
    {
        var sb = new StringBuilder();
        foreach (var a in batch)
        {
            sb.AppendLine(Format(a));
        }

        await _out.WriteAsync(sb, cancellationToken).ConfigureAwait(false);
        await _out.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    public ValueTask FlushAsync(CancellationToken cancellationToken) => new(_out.FlushAsync(cancellationToken));
}

/// <summary>Appends alerts as JSON lines (schema sentinel.alert/v1) to a file; flushed after every batch.</summary>
public sealed class JsonLinesFileAlertSink : IAlertSink, IDisposable
{
    private readonly FileStream _stream;
    private readonly Utf8JsonWriter _writer;

    public JsonLinesFileAlertSink(string path)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(dir))
        {
            Directory.CreateDirectory(dir);
        }

        _stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read, 64 * 1024, useAsync: false);
        _writer = new Utf8JsonWriter(_stream);
        FilePath = path;
    }

    public string FilePath { get; }

    public string Name => "file";

    public async ValueTask WriteAsync(IReadOnlyList<Alert> batch, CancellationToken cancellationToken)
    {
        foreach (var a in batch)
        {
            AlertJsonWriter.Write(_writer, a);
            _writer.Flush();
            _writer.Reset();
            _stream.WriteByte((byte)'\n');
        }

        await _stream.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask FlushAsync(CancellationToken cancellationToken) => await _stream.FlushAsync(cancellationToken).ConfigureAwait(false);

    public void Dispose()
    {
        _writer.Dispose();
        _stream.Dispose();
    }
}
