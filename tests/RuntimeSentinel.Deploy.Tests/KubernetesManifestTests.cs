using RuntimeSentinel.TestCommon;

namespace RuntimeSentinel.Deploy.Tests;

public class KubernetesManifestTests
{
    private static async Task<string> RenderAsync(string dir)
    {
        var kubectl = Tools.Require("kubectl", "apt-get install kubectl");
        var (code, stdout, stderr) = await Tools.RunAsync(kubectl, ["kustomize", dir]);
        Assert.True(code == 0, $"kubectl kustomize {dir}: {stderr}");
        return stdout;
    }

    private static async Task<(int Code, string Output)> ValidateAsync(string manifests)
    {
        var node = Tools.Require("node", "Node.js");
        var validator = Path.Combine(Datasets.RepoRoot, "deploy/k8s/validate");
        if (!Directory.Exists(Path.Combine(validator, "node_modules", "kubernetes-models")))
        {
            Tools.Require("kubernetes-models-installed", "run 'npm ci' in deploy/k8s/validate");
        }

        var (code, stdout, stderr) = await Tools.RunAsync(node, ["validate.mjs"], manifests, validator);
        return (code, stdout + stderr);
    }

    [SkippableTheory]
    [InlineData("deploy/k8s", 7)]
    [InlineData("deploy/k8s/overlays/dev", 7)]
    [InlineData("deploy/k8s/overlays/production", 8)]
    public async Task Kustomize_BaseAndOverlays_RenderValidUnprivilegedObjects(string dir, int objects)
    {
        var rendered = await RenderAsync(dir);
        var (code, output) = await ValidateAsync(rendered);
        Assert.True(code == 0, output);
        Assert.Contains($"{objects} objects, 0 problems", output, StringComparison.Ordinal);
        Assert.Contains("kind: DaemonSet", rendered, StringComparison.Ordinal);
        Assert.Contains("kind: ServiceMonitor", rendered, StringComparison.Ordinal);
        Assert.Contains("kind: NetworkPolicy", rendered, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task Kustomize_ProductionOverlay_UsesSaslFromSecretFiles()
    {
        var rendered = await RenderAsync("deploy/k8s/overlays/production");
        Assert.Contains("\"SaslPasswordFile\": \"/var/run/secrets/kafka/password\"", rendered, StringComparison.Ordinal);
        Assert.Contains("secretName: runtime-sentinel-kafka", rendered, StringComparison.Ordinal);
        Assert.DoesNotContain("\"SaslPassword\":", rendered, StringComparison.Ordinal);
    }

    [SkippableTheory]
    [InlineData("readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false", "readOnlyRootFilesystem")]
    [InlineData("hostPID: false", "hostPID: true", "no hostPID")]
    [InlineData("terminationGracePeriodSeconds: 40", "terminationGracePeriodSeconds: 10", "terminationGracePeriodSeconds")]
    [InlineData("containerPort: 9464", "containerPort: \"metrics\"", "schema")]
    [InlineData("- ALL", "- NET_ADMIN", "drop ALL capabilities")]
    [InlineData("- port: metrics\n", "- port: 9465\n", "admits only the metrics port")]
    [InlineData("\"AdminListen\": \"127.0.0.1:9465\"", "\"AdminListen\": \"0.0.0.0:9465\"", "AdminListen must stay on loopback")]
    public async Task Validate_WeakenedManifest_IsRejected(string from, string to, string expected)
    {
        var rendered = (await RenderAsync("deploy/k8s")).Replace(from, to, StringComparison.Ordinal);
        var (code, output) = await ValidateAsync(rendered);
        Assert.Equal(1, code);
        Assert.Contains(expected, output, StringComparison.Ordinal);
    }
}
