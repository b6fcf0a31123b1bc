using System.Globalization;

namespace RuntimeSentinel.Daemon.Cli;

/// <summary>
/// Progress of long CLI work on standard error (standard output stays clean for <c>--json</c>): a redrawn bar on a
/// terminal, one line per tenth otherwise (logs and CI), nothing when quiet.
/// </summary>
internal sealed class ProgressBar(TextWriter output, string label, long total, bool interactive, bool quiet = false)
{
    private const int Width = 30;
    private long _done;
    private int _lastTenth = -1;
    private string _note = "";

    public static ProgressBar Create(string label, long total, bool quiet = false) =>
        new(Console.Error, label, total, !Console.IsErrorRedirected, quiet);

    public void Report(long done, string? note = null)
    {
        _done = Math.Min(done, Math.Max(total, 1));
        _note = note ?? _note;
        if (quiet)
        {
            return;
        }

        var fraction = total <= 0 ? 1 : _done / (double)total;
        if (interactive)
        {
            var filled = (int)Math.Round(fraction * Width);
            var line = string.Create(CultureInfo.InvariantCulture, $"\r{label} [{new string('#', filled)}{new string('.', Width - filled)}] {fraction,4:P0} {_note}");
            output.Write(line.PadRight(100));
            return;
        }

        var tenth = (int)(fraction * 10);
        if (tenth != _lastTenth)
        {
            _lastTenth = tenth;
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{label}: {fraction:P0} ({_done}/{total}) {_note}"));
        }
    }

    public void Done(string? note = null)
    {
        Report(total, note);
        if (interactive && !quiet)
        {
            output.WriteLine();
        }
    }
}
