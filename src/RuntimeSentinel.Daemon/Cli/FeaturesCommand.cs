using System.CommandLine;
using System.Text.Json;
using RuntimeSentinel.Detection;
using RuntimeSentinel.Lab.Export;

namespace RuntimeSentinel.Daemon.Cli;

/// <summary>
/// <c>sentinel features export</c>: the behaviour windows the window models learn from, out of recorded events (files
/// or a Kafka topic range, read as <c>train</c> reads them), as Parquet or CSV for pandas, DuckDB and notebooks. The
/// schema is in docs/data-science.md. Lab and Parquet types are touched only when the verb runs, never by <c>run</c>.
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
        var export = new Command("export", "Write every behaviour window of recorded events, exactly as the window models see them, as Parquet (default) or CSV.")
        {
            inputFiles, cli.From, kafkaTopicOption, cli.Bootstrap, fromOffsetOption, toOffsetOption, outOption, formatOption, windowOption, labelOption, labelsOption, cli.Config, cli.Json,
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
            return ExportAsync(input, options, parse.GetValue(outOption)!, parse.GetValue(formatOption)!, label[0], label.Length > 1 ? label[1] : "", parse.GetValue(cli.Json), Console.Out, Console.Error, ct, parse.GetValue(labelsOption));
        });
        return new Command("features", "Behaviour features for data science: export them for pandas, DuckDB and notebooks.") { export };
    }

    public static async Task<int> ExportAsync(EventInput input, DetectionOptions options, string path, string format, string labelKey, string positivePrefix, bool json, TextWriter stdout, TextWriter stderr, CancellationToken ct, string? labelsFile = null)
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

        var bar = ProgressBar.Create("windows", events.Count);
        var rows = FeatureWindows.Collect(options, events, labelKey, positivePrefix, done => bar.Report(done), truth is null ? null : (key, start, end) => Truth(truth, key.ShortName, start, end));
        bar.Done($"{events.Count} events, {rows.Count} windows");
        if (Path.GetDirectoryName(Path.GetFullPath(path)) is { } dir)
        {
            Directory.CreateDirectory(dir);
        }

        if (format == "csv")
        {
            await FeatureCsvWriter.WriteAsync(path, rows, options.Models.Window, ct).ConfigureAwait(false);
        }
        else
        {
            await FeatureParquetWriter.WriteAsync(path, rows, options.Models.Window, ct).ConfigureAwait(false);
        }

        var workloads = rows.GroupBy(r => r.Workload.Value, StringComparer.Ordinal).Select(g => new { workload = g.Key, windows = g.Count() }).ToList();
        if (json)
        {
            await stdout.WriteLineAsync(JsonSerializer.Serialize(new { schema = FeatureSchema.Version, format, path, events = events.Count, rows = rows.Count, workloads })).ConfigureAwait(false);
        }
        else
        {
            await stdout.WriteLineAsync($"wrote {rows.Count} behaviour windows of {workloads.Count} workloads ({FeatureSchema.Version}, {format}) to {path}").ConfigureAwait(false);
        }

        return 0;
    }

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
