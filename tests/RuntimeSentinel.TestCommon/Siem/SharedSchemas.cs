using Xunit;

namespace RuntimeSentinel.TestCommon.Siem;

/// <summary>
/// Where the SIEM schema definitions come from: the OCSF source beside the shared datasets
/// (<c>../shared/schemas/ocsf</c>, i.e. <see cref="Datasets.Root"/>'s sibling <c>schemas/ocsf</c>, so
/// <c>SENTINEL_DATASETS</c> moves both), and the ECS field table of the <c>@elastic/ecs</c> package installed in
/// tests/ecs. Missing: the test is skipped naming what is missing, or fails under <c>SENTINEL_REQUIRE_DATASETS=1</c>
/// (the schema) or <c>SENTINEL_REQUIRE_TOOLS=1</c> (node and the package), as .ci/run sets both.
/// </summary>
public static class SharedSchemas
{
    public static string OcsfDirectory => Path.GetFullPath(Path.Combine(Datasets.Root, "..", "schemas", "ocsf"));

    public static OcsfSchema RequireOcsf()
    {
        var dir = OcsfDirectory;
        if (!File.Exists(Path.Combine(dir, "dictionary.json")))
        {
            var message = $"The OCSF schema source ('schemas/ocsf') is not at {dir}. It sits beside the shared datasets (../shared/schemas/ocsf); SENTINEL_DATASETS moves both.";
            if (Environment.GetEnvironmentVariable("SENTINEL_REQUIRE_DATASETS") == "1")
            {
                throw new InvalidOperationException(message + " (SENTINEL_REQUIRE_DATASETS=1 makes this a failure)");
            }

            Skip.If(true, message);
        }

        return OcsfSchema.Load(dir);
    }

    public static async Task<EcsSchema> RequireEcsAsync()
    {
        var node = Tools.Require("node", "Node.js");
        var dir = Path.Combine(Datasets.RepoRoot, "tests", "ecs");
        if (!Directory.Exists(Path.Combine(dir, "node_modules", "@elastic", "ecs")))
        {
            Tools.Require("@elastic/ecs-installed", "run 'npm ci' in tests/ecs");
        }

        var (code, stdout, stderr) = await Tools.RunAsync(node, [Path.Combine(dir, "fields.mjs")], workingDirectory: dir);
        Assert.True(code == 0, $"node fields.mjs exited {code}: {stderr}");
        return EcsSchema.Parse(stdout);
    }
}
