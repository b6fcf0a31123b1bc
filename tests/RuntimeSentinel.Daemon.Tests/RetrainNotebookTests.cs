using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using RuntimeSentinel.TestCommon;

namespace RuntimeSentinel.Daemon.Tests;

/// <summary>
/// The data scientist's loop end to end, as CI runs it: the labelled corpus (seed 7), its features exported as CSV
/// with the corpus's labels, <c>notebooks/retrain-workload.ipynb</c> executed by Debian's Jupyter on that export (fit
/// on one workload's normal windows, written as ONNX with a card), <c>sentinel models import --promote</c>, and the
/// corpus replayed through the real pipeline with the imported model in service (<c>evaluate stream --models</c>).
/// Needs /usr/bin/python3 with pandas, scikit-learn, onnx, matplotlib, nbconvert and ipykernel (.ci/run installs
/// them); skips without them unless SENTINEL_REQUIRE_TOOLS=1.
/// </summary>
public sealed class RetrainNotebookTests : IDisposable
{
    private const string Python = "/usr/bin/python3";

    // The workload the notebook retrains: several attacks in the corpus, one of them (helper-burst-api) new only in its
    // rates and mix of behaviour, which a window model is there to see.
    private const string Workload = "local/shop/Deployment/api/api";
    private const string Detector = "onnx:pca-recon";

    // How labels.json names it: namespace/kind/name.
    private const string Labelled = "shop/Deployment/api";
    private readonly TempFolder _temp = new("retrain-notebook-");

    public void Dispose() => _temp.Dispose();

    private static async Task<string> SentinelAsync(params string[] args)
    {
        using var p = new SentinelProcess(args);
        Assert.True(0 == await p.WaitForExitAsync(TimeSpan.FromSeconds(180)), $"sentinel {string.Join(' ', args)}: {p.Stderr}");
        return p.Stdout + p.Stderr;
    }

    private static async Task RequirePythonAsync()
    {
        const string hint = "apt-get install python3-pandas python3-sklearn python3-onnx python3-matplotlib jupyter-nbconvert python3-ipykernel";
        var missing = !File.Exists(Python);
        if (!missing)
        {
            var (code, _, _) = await Tools.RunAsync(Python, ["-c", "import pandas, sklearn, onnx, matplotlib, nbconvert, ipykernel"]);
            missing = code != 0;
        }

        if (missing)
        {
            Tools.Require("python3-with-pandas-sklearn-onnx-matplotlib-nbconvert-ipykernel", hint);
        }
    }

    [SkippableFact]
    public async Task Notebook_CorpusExport_ImportedModelServesCatchesTheBurstAndStaysWithinItsBudget()
    {
        await RequirePythonAsync();
        await SentinelAsync("corpus", "--out", _temp.Path, "--seed", "7");
        var sensors = new[] { _temp["tetragon.jsonl"], _temp["hubble.jsonl"], _temp["falco.jsonl"] };
        var csv = _temp["features.csv"];
        await SentinelAsync(["features", "export", .. sensors, "--labels", _temp["labels.json"], "--out", csv, "--format", "csv"]);

        // The notebook as CI executes it, parameterised by its environment variables.
        var outDir = _temp["retrain"];
        var psi = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = _temp.Path };
        foreach (var a in new[] { "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute", Path.Combine(Datasets.RepoRoot, "notebooks", "retrain-workload.ipynb"), "--output", _temp["executed.ipynb"] })
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment["SENTINEL_FEATURES"] = csv;
        psi.Environment["SENTINEL_WORKLOAD"] = Workload;
        psi.Environment["SENTINEL_OUT"] = outDir;
        psi.Environment["MPLCONFIGDIR"] = _temp["mpl"];
        psi.Environment.Remove("SENTINEL_CLI");
        using (var nb = Process.Start(psi)!)
        {
            var stderr = nb.StandardError.ReadToEndAsync();
            await nb.StandardOutput.ReadToEndAsync();
            await nb.WaitForExitAsync();
            Assert.True(nb.ExitCode == 0, "nbconvert --execute: " + await stderr);
        }

        Assert.True(new FileInfo(Path.Combine(outDir, "features.png")).Length > 1000, "the notebook's plot");
        var card = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(outDir, "card.json"))).RootElement;
        Assert.Equal(22, card.GetProperty("features").GetArrayLength());

        var models = _temp["models"];
        var imported = await SentinelAsync("models", "import", Workload, Path.Combine(outDir, "model.onnx"), "--card", Path.Combine(outDir, "card.json"), "--features", csv, "--models", models, "--promote");
        Assert.Contains($"{Detector} threshold", imported, StringComparison.Ordinal);

        var incidents = _temp["incidents.jsonl"];
        await SentinelAsync(["evaluate", "stream", .. sensors, "--labels", _temp["labels.json"], "--models", models, "--incidents", incidents]);

        // Emissions that carry an alert of the imported detector (it leads or joins an alert of the api workload).
        var alerts = (await File.ReadAllLinesAsync(incidents))
            .Select(l => JsonDocument.Parse(l).RootElement)
            .Where(e => e.GetProperty("workload").GetProperty("key").GetString() == Workload && e.GetRawText().Contains($"\"{Detector}\"", StringComparison.Ordinal))
            .Select(e => (Id: e.GetProperty("id").GetString()!, At: DateTimeOffset.Parse(e.GetProperty("last_seen").GetString()!, CultureInfo.InvariantCulture)))
            .ToList();
        Assert.NotEmpty(alerts); // it serves: its name is on alerts

        using var labels = JsonDocument.Parse(await File.ReadAllTextAsync(_temp["labels.json"]));
        var attacks = labels.RootElement.GetProperty("scenarios").EnumerateArray()
            .Where(s => s.GetProperty("kind").GetString()!.StartsWith("attack", StringComparison.Ordinal)
                && (s.GetProperty("workload").GetString() == Labelled || s.GetProperty("related_workloads").EnumerateArray().Any(r => r.GetString() == Labelled)))
            .Select(s => (Scenario: s.GetProperty("scenario").GetString()!, Start: DateTimeOffset.Parse(s.GetProperty("start").GetString()!, CultureInfo.InvariantCulture), End: DateTimeOffset.Parse(s.GetProperty("end").GetString()!, CultureInfo.InvariantCulture)))
            .ToList();
        var grace = TimeSpan.FromMinutes(2);
        bool During(DateTimeOffset t, (string Scenario, DateTimeOffset Start, DateTimeOffset End) a) => t >= a.Start - grace && t <= a.End + grace;

        // It sees the burst of helper processes (new in rates and mix only: what a window model is for).
        var burst = attacks.Single(a => a.Scenario == "helper-burst-api");
        Assert.Contains(alerts, a => During(a.At, burst));

        // On normal windows it stays within its alert budget (1 per day; the replay scores an hour after learning): at
        // most one emission carrying its alerts outside the workload's attacks. (Mis-calibrated, with shadow's
        // recalibration off as well, it raised 6 incidents there with dozens of emissions.)
        var normal = alerts.Where(a => !attacks.Any(x => During(a.At, x))).ToList();
        Assert.True(normal.Count <= 1, $"{normal.Count} emissions of {Detector} alerts on normal windows: {string.Join(", ", normal.Select(a => $"{a.Id} {a.At:u}"))}");
    }
}
