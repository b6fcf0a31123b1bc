using System.Globalization;
using System.Text.Json;
using RuntimeSentinel.Detection;
using RuntimeSentinel.Detection.Models;
using RuntimeSentinel.Lab.Export;

namespace RuntimeSentinel.Daemon.Cli;

/// <summary>
/// <c>sentinel models import WORKLOAD MODEL.onnx --card CARD.json --features EXPORT</c>: a data scientist's ONNX model
/// becomes a model version of the workload, calibrated on the export's held-back normal windows of that workload
/// (<see cref="OnnxImport"/>). A refusal is one line on stderr naming the problem, exit code 1, and the model store
/// unchanged.
/// </summary>
internal static class ModelImportCommand
{
    public static async Task<int> RunAsync(string modelsDir, string workload, string onnxPath, string cardPath, string featuresPath, DetectionOptions options, bool promote, bool json, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        ImportedModel imported;
        try
        {
            string text;
            try
            {
                text = await File.ReadAllTextAsync(cardPath, ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new ModelRejectedException($"{cardPath}: cannot read the card ({ex.Message})", ex);
            }

            var card = OnnxCard.Parse(text, cardPath);
            FeatureTable table;
            try
            {
                table = await FeatureTableReader.ReadAsync(featuresPath, ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is InvalidDataException or IOException or UnauthorizedAccessException)
            {
                throw new ModelRejectedException(ex.Message, ex);
            }

            if (table.Fingerprint is { } fp && fp != BehaviourFeatures.Fingerprint)
            {
                throw new ModelRejectedException($"{featuresPath}: exported with feature fingerprint {fp}, this build computes {BehaviourFeatures.Fingerprint}; export again with this version");
            }

            var windows = table.Windows.Where(w => w.Workload == workload).Select(w => new CalibrationWindow(w.Start, w.Features, w.Label)).ToList();
            if (windows.Count == 0)
            {
                throw new ModelRejectedException($"{featuresPath}: no windows of {workload} (the export has {string.Join(", ", table.Windows.Select(w => w.Workload).Distinct().Take(10))})");
            }

            var windowSeconds = table.WindowSeconds ?? options.Models.Window.TotalSeconds;
            imported = OnnxImport.Import(new ModelStore(modelsDir), workload, onnxPath, card, windows, windowSeconds, options.TargetAlertsPerWorkloadDay, options.Models.MemoryBudgetMiB * 1048576L, DateTimeOffset.UtcNow);
            if (promote)
            {
                new ModelStore(modelsDir).Promote(workload, imported.Version);
            }
        }
        catch (ModelRejectedException ex)
        {
            await stderr.WriteLineAsync("import refused: " + ex.Message.ReplaceLineEndings(" ")).ConfigureAwait(false);
            return 1;
        }

        var h = imported.HeldBack;
        if (json)
        {
            await stdout.WriteLineAsync(JsonSerializer.Serialize(new
            {
                workload = imported.Workload,
                version = imported.Version,
                path = imported.Path,
                detector = imported.Detector,
                threshold = imported.Threshold,
                calibration = imported.Calibration,
                held_back = h,
                charged_bytes = imported.ChargedBytes,
                promoted = promote,
            }, ModelCard.Json)).ConfigureAwait(false);
        }
        else
        {
            await stdout.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"{imported.Workload} {imported.Version}{(promote ? " (promoted)" : "")}: {imported.Detector} threshold {imported.Threshold:0.####} ({imported.Calibration}); held-back: {h.Scores} windows, median {h.Median:0.####}, p99 {h.P99:0.####}, max {h.Max:0.####}, {h.Exceeding} above → {h.ExpectedAlertsPerDay:0.###} alerts/day; charged {imported.ChargedBytes / 1024.0:0} KiB of the model budget; {imported.Path}")).ConfigureAwait(false);
        }

        return 0;
    }
}
