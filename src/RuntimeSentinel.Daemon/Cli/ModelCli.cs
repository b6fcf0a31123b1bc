using System.CommandLine;
using RuntimeSentinel.Detection;

namespace RuntimeSentinel.Daemon.Cli;

/// <summary>The data scientists' verbs: training, scoring, evaluation and the model store.</summary>
internal static class ModelCli
{
    /// <summary>train, score, evaluate (events, stream, adfa-ld) and models (list, show, promote).</summary>
    public static Command[] Create(CliOptions cli)
    {
        var modelsDirOption = new Option<string>("--models") { Description = "Model folder (models/<workload>/<version>/).", DefaultValueFactory = _ => "models" };
        var inputFiles = new Argument<string[]>("files") { Description = "Event files: JSON lines (any sensor format) or recordings.", Arity = ArgumentArity.ZeroOrMore };
        var kafkaTopicOption = new Option<string?>("--kafka-topic") { Description = "Read a Kafka topic range instead of files." };
        var fromOffsetOption = new Option<long>("--from-offset") { Description = "First offset of every partition to read.", DefaultValueFactory = _ => 0 };
        var toOffsetOption = new Option<long?>("--to-offset") { Description = "Last offset to read (default: the end when reading starts)." };
        var windowOption = new Option<double?>("--window") { Description = "Behaviour window length in seconds (default: Detection:Models:Window, 10)." };
        var targetOption = new Option<double?>("--target-alerts-per-day") { Description = "Alert budget per workload per day the thresholds are calibrated to (default 1)." };
        var promoteOption = new Option<bool>("--promote") { Description = "Promote each trained version right away." };
        var labelOption = new Option<string>("--label") { Description = "Event label that marks attack events, as key=prefix.", DefaultValueFactory = _ => "scenario=attack" };
        var train = new Command("train", "Train per-workload models from recorded events (files or a Kafka topic range) and save them as new versions.")
        {
            inputFiles, cli.From, kafkaTopicOption, cli.Bootstrap, fromOffsetOption, toOffsetOption, modelsDirOption, windowOption, targetOption, promoteOption, cli.Config, cli.Json,
        };
        train.SetAction((parse, ct) => ModelCommands.TrainAsync(Input(parse), parse.GetValue(modelsDirOption)!, CliDetection(parse), parse.GetValue(promoteOption), parse.GetValue(cli.Json), Console.Out, Console.Error, ct));
        var score = new Command("score", "Score recorded events with the promoted models and print every finding.")
        {
            inputFiles, cli.From, kafkaTopicOption, cli.Bootstrap, fromOffsetOption, toOffsetOption, modelsDirOption, cli.Config, cli.Json,
        };
        score.SetAction((parse, ct) => ModelCommands.ScoreAsync(Input(parse), parse.GetValue(modelsDirOption)!, CliDetection(parse), parse.GetValue(cli.Json), Console.Out, Console.Error, ct));
        var reportOption = new Option<string?>("--report") { Description = "Also write an HTML report with plots (ROC, precision-recall, score histograms, alerts per hour) to this folder (index.html)." };
        var evaluateEvents = new Command("events", "Window-level detection quality of the promoted models on labelled events (ROC AUC, DR at 1/5/10% FPR, FPR at 90% DR, confusion).")
        {
            inputFiles, cli.From, kafkaTopicOption, cli.Bootstrap, fromOffsetOption, toOffsetOption, modelsDirOption, labelOption, reportOption, cli.Config, cli.Json,
        };
        evaluateEvents.SetAction((parse, ct) =>
        {
            var label = parse.GetValue(labelOption)!.Split('=', 2);
            return ModelCommands.EvaluateAsync(Input(parse), parse.GetValue(modelsDirOption)!, CliDetection(parse), label[0], label.Length > 1 ? label[1] : "", parse.GetValue(cli.Json), Console.Out, Console.Error, ct, parse.GetValue(reportOption));
        });
        var labelsOption = new Option<string>("--labels") { Description = "The stream's labels (labels.json: scenarios with kind, workload, start, end).", Required = true };
        var assertOption = new Option<bool>("--assert") { Description = "Exit 1 unless every attack that does something new is caught, at least two thirds of the stealthy ones, at most 3 false incidents in all after learning, and no high or critical incident was held by a budget." };
        var streamFiles = new Argument<string[]>("files") { Description = "Recorded sensor streams (JSON lines, any format), each in time order.", Arity = ArgumentArity.OneOrMore };
        var incidentsOption = new Option<string?>("--incidents") { Description = "Also write every incident emission to this JSON-lines file (schema: --incidents-schema, sentinel.alert/v2 by default)." };
        var learningOption = new Option<double?>("--learning") { Description = "Seconds of event time each workload learns (and at least 100 events), as 'replay --learning'; default: Detection:LearningDuration and MinLearningEvents." };
        var streamModelsOption = new Option<string?>("--models") { Description = "A model folder whose promoted versions are put in service, as a daemon watching it would (default: each workload trains its own)." };
        var evaluateStream = new Command("stream", "Run the real pipeline over recorded sensor streams on the event clock and judge incidents against labels: attacks caught, false incidents, budgets.")
        {
            streamFiles, labelsOption, cli.Config, cli.Json, assertOption, incidentsOption, cli.IncidentsSchema, learningOption, reportOption, streamModelsOption,
        };
        evaluateStream.SetAction(async (parse, ct) =>
        {
            var labels = StreamEvaluation.ReadLabels(parse.GetValue(labelsOption)!, out _, out var attacksStart);
            var detection = CliDetection(parse);
            RecordingLearning.Apply(detection, parse.GetValue(learningOption));
            var reportDir = parse.GetValue(reportOption);
            using var capture = reportDir is null ? null : new StreamCapture();
            var files = parse.GetValue(streamFiles)!;
            var report = await StreamEvaluation.RunAsync(files, labels, detection, attacksStart, Console.Error, ct, parse.GetValue(incidentsOption), capture, cli.ParseIncidentsSchema(parse), parse.GetValue(streamModelsOption)).ConfigureAwait(false);
            Console.WriteLine(parse.GetValue(cli.Json) ? StreamEvaluation.Json(report) : StreamEvaluation.Text(report));
            if (reportDir is not null && !await ModelCommands.WriteReportAsync(reportDir, () => EvaluationReports.WriteStream(reportDir, files, report, labels, capture!, detection), Console.Error).ConfigureAwait(false))
            {
                return 2;
            }

            var newOnes = report.Attacks.Where(a => a.Kind == "attack-new").ToList();
            var stealthy = report.Attacks.Where(a => a.Kind == "attack-stealthy").ToList();
            var ok = newOnes.All(a => a.Caught) && 3 * stealthy.Count(a => a.Caught) >= 2 * stealthy.Count && report.FalseIncidents.Count <= 3 && report.HeldHighOrCritical == 0;
            if (parse.GetValue(assertOption) && !ok)
            {
                await Console.Error.WriteLineAsync($"evaluate stream: floors not met: caught {newOnes.Count(a => a.Caught)}/{newOnes.Count} new attacks, {stealthy.Count(a => a.Caught)}/{stealthy.Count} stealthy (≥ two thirds); false incidents {report.FalseIncidents.Count} ({report.FalseOutsideChurn} outside churn, {report.FalseOnChurn} on it; ≤ 3 in all); high or critical held {report.HeldHighOrCritical}").ConfigureAwait(false);
                return 1;
            }

            return 0;
        });
        EventInput Input(ParseResult parse) => new(
            parse.GetValue(inputFiles) ?? [], parse.GetValue(cli.From)!, parse.GetValue(kafkaTopicOption), parse.GetValue(cli.Bootstrap), parse.GetValue(fromOffsetOption), parse.GetValue(toOffsetOption));
        DetectionOptions CliDetection(ParseResult parse)
        {
            var o = new DetectionOptions();
            if (parse.GetValue(cli.Config) is { } config)
            {
                new ConfigurationBuilder().AddJsonFile(Path.GetFullPath(config)).Build().GetSection(DetectionOptions.SectionName).Bind(o);
            }

            if (parse.GetValue(windowOption) is { } w)
            {
                o.Models.Window = TimeSpan.FromSeconds(w);
            }

            if (parse.GetValue(targetOption) is { } t)
            {
                o.TargetAlertsPerWorkloadDay = t;
            }

            return o;
        }

        var evaluate = new Command("evaluate", "Measure detection quality on labelled data.")
        {
            AdfaLdEvaluation.Create(cli), evaluateEvents, evaluateStream,
        };

        var workloadArgument = new Argument<string>("workload") { Description = "Workload key (cluster/namespace/kind/name/container) or its folder name." };
        var versionArgument = new Argument<string>("version") { Description = "Version folder name, e.g. v3." };
        var optionalVersion = new Argument<string?>("version") { Description = "Version (default: the promoted one).", Arity = ArgumentArity.ZeroOrOne };
        var adminUrlOption = new Option<string[]>("--admin-url") { Description = "A daemon's admin listener (http://127.0.0.1:9465, e.g. through kubectl port-forward); repeat for several. Adds each served version's drift from its training data.", AllowMultipleArgumentsPerToken = false };
        var modelsList = new Command("list", "List stored model versions; * marks the promoted one. With --admin-url, also the drift of the versions those daemons serve.") { modelsDirOption, adminUrlOption, cli.Json };
        modelsList.SetAction((parse, ct) => ModelCommands.ListAsync(parse.GetValue(modelsDirOption)!, parse.GetValue(cli.Json), Console.Out, parse.GetValue(adminUrlOption), Console.Error, ct));
        var modelsShow = new Command("show", "Show a model card: training data, thresholds, held-back figures.") { workloadArgument, optionalVersion, modelsDirOption, cli.Json };
        modelsShow.SetAction((parse, _) => ModelCommands.ShowAsync(parse.GetValue(modelsDirOption)!, parse.GetValue(workloadArgument)!, parse.GetValue(optionalVersion), parse.GetValue(cli.Json), Console.Out, Console.Error));
        var modelsPromote = new Command("promote", "Mark a version as the one in service (checked loadable first); running daemons hot-swap it.") { workloadArgument, versionArgument, modelsDirOption };
        modelsPromote.SetAction((parse, _) => ModelCommands.PromoteAsync(parse.GetValue(modelsDirOption)!, parse.GetValue(workloadArgument)!, parse.GetValue(versionArgument)!, Console.Out, Console.Error));
        var versionA = new Argument<string>("a") { Description = "The version compared from (a version folder name, or 'promoted')." };
        var versionB = new Argument<string>("b") { Description = "The version compared to (a version folder name, or 'promoted')." };
        var modelsDiff = new Command("diff", "What changed between two versions: learned items added and removed, detectors and thresholds, training window and data, held-back figures.") { workloadArgument, versionA, versionB, modelsDirOption, cli.Json };
        modelsDiff.SetAction((parse, _) => ModelDiff.RunAsync(parse.GetValue(modelsDirOption)!, parse.GetValue(workloadArgument)!, parse.GetValue(versionA)!, parse.GetValue(versionB)!, parse.GetValue(cli.Json), Console.Out, Console.Error));
        var onnxArgument = new Argument<string>("model") { Description = "The ONNX model file: a float input [N, features] and one float per row out, higher is more anomalous." };
        var cardOption = new Option<string>("--card") { Description = "The model's card (JSON): features, input, output; optionally name, description, author, threshold, quantile, held_back_from.", Required = true };
        var featuresOption = new Option<string>("--features") { Description = "A feature export (sentinel features export, Parquet or CSV) with the workload's held-back windows to calibrate on.", Required = true };
        var modelsImport = new Command("import", "Import an ONNX model as a new version of a workload, checked and calibrated to its alert budget on held-back windows.")
        {
            workloadArgument, onnxArgument, cardOption, featuresOption, modelsDirOption, targetOption, promoteOption, cli.Config, cli.Json,
        };
        modelsImport.SetAction((parse, ct) => ModelImportCommand.RunAsync(
            parse.GetValue(modelsDirOption)!, parse.GetValue(workloadArgument)!, parse.GetValue(onnxArgument)!, parse.GetValue(cardOption)!, parse.GetValue(featuresOption)!,
            CliDetection(parse), parse.GetValue(promoteOption), parse.GetValue(cli.Json), Console.Out, Console.Error, ct));
        var models = new Command("models", "Manage stored model versions.") { modelsList, modelsShow, modelsPromote, modelsDiff, BacktestCommand.Create(cli, modelsDirOption, workloadArgument), modelsImport };
        return [train, score, evaluate, models];
    }
}
