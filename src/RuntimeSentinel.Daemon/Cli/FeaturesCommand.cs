using System.CommandLine;
using System.Text.Json;
using RuntimeSentinel.Core.Workloads;
using RuntimeSentinel.Detection;
using RuntimeSentinel.Lab.Export;

namespace RuntimeSentinel.Daemon.Cli;

/// <summary>
/// <c>sentinel features export</c>: what the models learn from, out of recorded events (files or a Kafka topic range,
/// read as <c>train</c> reads them), as Parquet or CSV for pandas, DuckDB and notebooks: the behaviour windows of the
/// window models (<c>--kind windows</c>, the default), the syscall sequence windows of the sequence model
/// (<c>sequences</c>), or the run vectors of the CronJob/Job run detector (<c>runs</c>). The schemas are in
/// docs/data-science.md. Lab and Parquet types are touched only when the verb runs, never by <c>run</c>.
/// </summary>
internal static class FeaturesCommand
{
    public static Command Create(CliOptions cli)
    {
        var inputFiles = new Argument<string[]>("files") { Description = "Event files: JSON lines (any sensor format) or recordings.", Arity = ArgumentArity.ZeroOrMore };
        var kafkaTopicOption = new Option<string?>("--kafka-topic") { Description = "Read a Kafka topic range instead of files." };
        var fromOffsetOption = new Option<long>("--from-offset") { Description = "First offset of every partition to read.", DefaultValueFactory = _ => 0 };
        var toOffsetOption = new Option<long?>("--to-offset") { Description = "Last offset to read (default: the end when reading starts)." };
        var outOption = new Option<string>("--out") { Description = "File to write (a CSV also gets <file>.schema.json beside it).", Required = true };
        var formatOption = new Option<string>("--format") { Description = "parquet or csv.", DefaultValueFactory = _ => "parquet" };
        formatOption.AcceptOnlyFromAmong("parquet", "csv");
        var windowOption = new Option<double?>("--window") { Description = "Behaviour window length in seconds (default: Detection:Models:Window, 10), as 'train --window'." };
        var labelsOption = new Option<string?>("--labels") { Description = "A labels file (as 'evaluate stream --labels' takes, e.g. a corpus's labels.json): windows of a workload overlapping one of its attacks are label 1 with the attack's scenario, windows overlapping labelled churn label 0 with the churn's scenario, all others label 0." };
        var labelOption = new Option<string>("--label") { Description = "Event label that marks attack events, as key=prefix (the label and scenario columns).", DefaultValueFactory = _ => "scenario=attack" };
        var kindOption = new Option<string>("--kind") { Description = "windows (behaviour windows, sentinel.features/v1), sequences (per-process syscall windows, sentinel.sequences/v2) or runs (CronJob/Job run vectors, sentinel.runs/v1).", DefaultValueFactory = _ => Windows };
        kindOption.AcceptOnlyFromAmong(Windows, Sequences, Runs);
        var export = new Command("export", "Write what the models learn from recorded events, exactly as they see it: behaviour windows (default), syscall sequence windows or job run vectors, as Parquet (default) or CSV.")
        {
            inputFiles, cli.From, kafkaTopicOption, cli.Bootstrap, fromOffsetOption, toOffsetOption, outOption, formatOption, kindOption, windowOption, labelOption, labelsOption, cli.Config, cli.Json,
        };
        export.SetAction((parse, ct) =>
        {
            var input = new EventInput(parse.GetValue(inputFiles) ?? [], parse.GetValue(cli.From)!, parse.GetValue(kafkaTopicOption), parse.GetValue(cli.Bootstrap), parse.GetValue(fromOffsetOption), parse.GetValue(toOffsetOption));
            var options = new DetectionOptions();
            if (parse.GetValue(cli.Config) is { } config)
            {
                new ConfigurationBuilder().AddJsonFile(Path.GetFullPath(config)).Build().GetSection(DetectionOptions.SectionName).Bind(options);
            }

            if (parse.GetValue(windowOption) is { } w)
            {
                options.Models.Window = TimeSpan.FromSeconds(w);
            }

            var label = parse.GetValue(labelOption)!.Split('=', 2);
            return ExportAsync(input, options, parse.GetValue(outOption)!, parse.GetValue(formatOption)!, label[0], label.Length > 1 ? label[1] : "", parse.GetValue(cli.Json), Console.Out, Console.Error, ct, parse.GetValue(labelsOption), parse.GetValue(kindOption)!);
        });
        return new Command("features", "Model inputs for data science: export them for pandas, DuckDB and notebooks.") { export };
    }

    private const string Windows = "windows", Sequences = "sequences", Runs = "runs";

    public static async Task<int> ExportAsync(EventInput input, DetectionOptions options, string path, string format, string labelKey, string positivePrefix, bool json, TextWriter stdout, TextWriter stderr, CancellationToken ct, string? labelsFile = null, string kind = Windows)
    {
        List<StreamLabel>? truth = null;
        if (labelsFile is not null)
        {
            try
            {
                truth = StreamEvaluation.ReadLabels(labelsFile, out _, out _);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or JsonException or FormatException or InvalidDataException or KeyNotFoundException or InvalidOperationException)
            {
                await stderr.WriteLineAsync($"features export: cannot read labels {labelsFile}: {ex.Message}").ConfigureAwait(false);
                return 2;
            }
        }

        var events = await ModelCommands.ReadAsync(input, stderr, ct).ConfigureAwait(false);
        if (events is null)
        {
            return 2;
        }

        var bar = ProgressBar.Create(kind, events.Count);
        Func<WorkloadKey, DateTimeOffset, DateTimeOffset, (string?, int)>? labels = truth is null ? null : (key, start, end) => Truth(truth, key.ShortName, start, end);
        var (table, perWorkload, what) = kind switch
        {
            Sequences => SequenceWindows.Collect(options, events, labelKey, positivePrefix, done => bar.Report(done), labels) is var s
                ? (SequenceSchema.Table(s, options.Models), Count(s.Select(r => r.Workload)), "syscall sequence windows") : default,
            Runs => RunVectors.Collect(options, events, labelKey, positivePrefix, done => bar.Report(done), labels) is var r
                ? (RunSchema.Table(r), Count(r.Select(x => x.Workload)), "job runs") : default,
            _ => FeatureWindows.Collect(options, events, labelKey, positivePrefix, done => bar.Report(done), labels) is var w
                ? (FeatureSchema.Table(w, options.Models.Window), Count(w.Select(x => x.Workload)), "behaviour windows") : default,
        };
        bar.Done($"{events.Count} events, {table.Rows} rows");
        if (Path.GetDirectoryName(Path.GetFullPath(path)) is { } dir)
        {
            Directory.CreateDirectory(dir);
        }

        if (format == "csv")
        {
            await FeatureCsvWriter.WriteAsync(path, table, ct).ConfigureAwait(false);
        }
        else
        {
            await FeatureParquetWriter.WriteAsync(path, table, ct).ConfigureAwait(false);
        }

        // "windows" per workload, whatever the kind: the rows each workload has (the field keeps its v1 name).
        var workloads = perWorkload.Select(p => new { workload = p.Key, windows = p.Value }).ToList();
        if (json)
        {
            await stdout.WriteLineAsync(JsonSerializer.Serialize(new { schema = table.Schema, kind, format, path, events = events.Count, rows = table.Rows, workloads })).ConfigureAwait(false);
        }
        else
        {
            await stdout.WriteLineAsync($"wrote {table.Rows} {what} of {workloads.Count} workloads ({table.Schema}, {format}) to {path}").ConfigureAwait(false);
        }

        return 0;
    }

    private static List<KeyValuePair<string, int>> Count(IEnumerable<WorkloadKey> keys) =>
        keys.GroupBy(k => k.Value, StringComparer.Ordinal).Select(g => new KeyValuePair<string, int>(g.Key, g.Count())).ToList();

    /// <summary>An attack of the workload overlapping the window makes it positive; else labelled churn names it; else normal.</summary>
    private static (string? Scenario, int Label) Truth(List<StreamLabel> labels, string workload, DateTimeOffset start, DateTimeOffset end)
    {
        string? churn = null;
        foreach (var l in labels)
        {
            if (!l.Concerns(workload) || l.Start >= end || l.End < start)
            {
                continue;
            }

            if (l.IsAttack)
            {
                return (l.Scenario, 1);
            }

            churn ??= l.Scenario;
        }

        return (churn, 0);
    }
}
