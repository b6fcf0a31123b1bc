using System.Text;
using System.Text.Json;

namespace RuntimeSentinel.Formats.Tests.Native;

/// <summary>Readers positioned the way the native decoder's collaborators expect them: at the value they are to read.</summary>
internal static class NativeJson
{
    public static byte[] U(string json) => Encoding.UTF8.GetBytes(json);

    public static Utf8JsonReader At(byte[] utf8)
    {
        var reader = new Utf8JsonReader(utf8);
        reader.Read();
        return reader;
    }
}
