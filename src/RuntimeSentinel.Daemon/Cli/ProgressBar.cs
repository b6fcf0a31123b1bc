using System.Diagnostics;
using System.Globalization;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace RuntimeSentinel.Daemon.Cli;

/// <summary>
/// Progress of long CLI work on standard error (standard output stays clean for <c>--json</c>): on a terminal a live
/// Spectre.Console bar with its rate and time left; otherwise (a file, CI's log, <c>NO_COLOR</c>) one plain line per
/// tenth with the same figures; nothing when quiet. Without a known total (an archive's records are not counted
/// before reading) the bar is indeterminate and plain lines come every 5 seconds, with the count and rate. Report and
/// Done may come from any one thread at a time.
/// </summary>
internal sealed class ProgressBar
{
    private readonly TextWriter _output;
    private readonly string _label;
    private readonly long _total;
    private readonly bool _quiet;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly TaskCompletionSource _finished = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task? _render;
    private readonly ProgressTask? _task;
    private long _done;
    private int _lastTenth = -1;
    private TimeSpan? _lastLine;
    private string _note = "";
    private bool _ended;

    internal ProgressBar(TextWriter output, string label, long total, bool interactive, bool quiet = false)
    {
        _output = output;
        _label = label;
        _total = Math.Max(total, 0);
        _quiet = quiet;
        if (interactive && !quiet)
        {
            // Spectre's live display owns a render loop until the work says it is done; it starts before the first report.
            var started = new TaskCompletionSource<ProgressTask>(TaskCreationOptions.RunContinuationsAsynchronously);
            _render = Terminal.Create(output, interactive: true).Progress()
                .AutoClear(false)
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new CountColumn(), new RateColumn(), new RemainingTimeColumn(), new SpinnerColumn())
                .StartAsync(async ctx =>
                {
                    var task = ctx.AddTask(Terminal.Safe(label), maxValue: Math.Max(_total, 1));
                    task.IsIndeterminate = _total == 0;
                    started.SetResult(task);
                    await _finished.Task.ConfigureAwait(false);
                    ctx.Refresh();
                });
            _task = started.Task.GetAwaiter().GetResult();
        }
    }

    /// <param name="total">How many items; 0 or less when not known.</param>
    public static ProgressBar Create(string label, long total, bool quiet = false) =>
        new(Console.Error, label, total, Terminal.ErrorIsInteractive, quiet);

    public void Report(long done, string? note = null)
    {
        _done = _total == 0 ? Math.Max(done, 0) : Math.Clamp(done, 0, _total);
        _note = note ?? _note;
        if (_quiet || _ended)
        {
            return;
        }

        if (_task is not null)
        {
            _task.Value = _done;
            _task.Description = Terminal.Safe(_note.Length == 0 ? _label : $"{_label} {_note}");
            return;
        }

        if (_total == 0)
        {
            var now = _clock.Elapsed;
            if (_lastLine is not { } last || now - last >= TimeSpan.FromSeconds(5))
            {
                _lastLine = now;
                _output.WriteLine(PlainLine());
            }

            return;
        }

        var tenth = (int)(_done * 10 / _total);
        if (tenth != _lastTenth)
        {
            _lastTenth = tenth;
            _output.WriteLine(PlainLine());
        }
    }

    public void Done(string? note = null)
    {
        if (_ended)
        {
            return;
        }

        if (_total == 0)
        {
            _note = note ?? _note;
            if (!_quiet && _task is null)
            {
                _output.WriteLine(PlainLine());
            }
        }
        else
        {
            Report(_total, note);
        }

        _ended = true;
        if (_render is not null)
        {
            _task!.IsIndeterminate = false;
            _task.MaxValue = Math.Max(_done, 1);
            _task.Value = _task.MaxValue;
            _task.StopTask();
            _finished.TrySetResult();
            _render.GetAwaiter().GetResult();
        }
    }

    /// <summary>"label: 40% (400/1000), 1,234/s, 3 s left note" — for logs, without control characters.</summary>
    internal string PlainLine()
    {
        var seconds = _clock.Elapsed.TotalSeconds;
        var rate = seconds > 0 ? _done / seconds : 0;
        var left = rate > 0 && _done < _total ? string.Create(CultureInfo.InvariantCulture, $", {Math.Ceiling((_total - _done) / rate):0} s left") : "";
        var line = _total == 0
            ? string.Create(CultureInfo.InvariantCulture, $"{_label}: {_done}, {rate:N0}/s")
            : string.Create(CultureInfo.InvariantCulture, $"{_label}: {_done / (double)_total:P0} ({_done}/{_total}), {rate:N0}/s{left}");
        return Core.Text.ControlCharacters.Escape(_note.Length == 0 ? line : $"{line} {_note}");
    }

    /// <summary>Items done of the total.</summary>
    private sealed class CountColumn : ProgressColumn
    {
        public override IRenderable Render(RenderOptions options, ProgressTask task, TimeSpan deltaTime) =>
            new Text(string.Create(CultureInfo.InvariantCulture, $"{task.Value:0}/{task.MaxValue:0}"));
    }

    /// <summary>Items per second, as Spectre measures it over the last samples.</summary>
    private sealed class RateColumn : ProgressColumn
    {
        public override IRenderable Render(RenderOptions options, ProgressTask task, TimeSpan deltaTime) =>
            new Text(task.Speed is { } s ? string.Create(CultureInfo.InvariantCulture, $"{s:N0}/s") : "");
    }
}
