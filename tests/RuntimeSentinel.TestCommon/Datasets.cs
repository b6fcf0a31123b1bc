using Xunit;

namespace RuntimeSentinel.TestCommon;

/// <summary>
/// Locates the shared external datasets (never copied into the repository). Default: <c>../shared/datasets</c>
/// beside the clone; <c>SENTINEL_DATASETS</c> may point elsewhere. A missing dataset skips the test with its name,
/// unless <c>SENTINEL_REQUIRE_DATASETS=1</c> (set by .ci/run), which turns it into a failure.
/// </summary>
public static class Datasets
{
    public static string Root
    {
        get
        {
            var env = Environment.GetEnvironmentVariable("SENTINEL_DATASETS");
            if (!string.IsNullOrEmpty(env))
            {
                return Path.GetFullPath(env);
            }

            return Path.Combine(RepoRoot, "..", "shared", "datasets");
        }
    }

    public static string RepoRoot
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "RuntimeSentinel.sln")))
            {
                dir = dir.Parent;
            }

            return dir?.FullName ?? throw new InvalidOperationException("RuntimeSentinel.sln not found above " + AppContext.BaseDirectory);
        }
    }

    /// <summary>Returns the dataset's path, or skips (fails under CI) naming the dataset when it is absent.</summary>
    public static string Require(string relative, string datasetName)
    {
        var path = Path.Combine(Root, relative);
        if (File.Exists(path) || Directory.Exists(path))
        {
            return path;
        }

        var message = $"Dataset '{datasetName}' not found at {path}. Put the shared datasets beside the clone (../shared/datasets) or set SENTINEL_DATASETS.";
        if (Environment.GetEnvironmentVariable("SENTINEL_REQUIRE_DATASETS") == "1")
        {
            throw new InvalidOperationException(message + " (SENTINEL_REQUIRE_DATASETS=1 makes this a failure)");
        }

        Skip.If(true, message);
        return path;
    }
}
