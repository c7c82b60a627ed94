using System.Text.Json;

namespace Curvature.Conformance;

/// <summary>A reference case JSON (format of tests/data/reference/FORMAT.md) with typed accessors.</summary>
public sealed class ReferenceCase
{
    private ReferenceCase(string path, JsonElement root)
    {
        Path = path;
        Root = root;
        Name = root.TryGetProperty("name", out var n) ? n.GetString() ?? System.IO.Path.GetFileNameWithoutExtension(path) : System.IO.Path.GetFileNameWithoutExtension(path);
        Kind = root.TryGetProperty("kind", out var k) ? k.GetString() ?? "" : "";
    }

    /// <summary>File the case was read from.</summary>
    public string Path { get; }

    /// <summary>The case's name.</summary>
    public string Name { get; }

    /// <summary><c>kfac_ekfac</c> or <c>adafisher_replay</c>.</summary>
    public string Kind { get; }

    /// <summary>The parsed JSON document root.</summary>
    public JsonElement Root { get; }

    /// <summary>Loads a case file.</summary>
    public static ReferenceCase Load(string path)
    {
        using var stream = File.OpenRead(path);
        using var doc = JsonDocument.Parse(stream, new JsonDocumentOptions { MaxDepth = 256 });
        return new ReferenceCase(path, doc.RootElement.Clone());
    }
}

/// <summary>A dense tensor from a case file: shape and row-major data (non-finite values, stored as null, become NaN).</summary>
public sealed record Tensor(int[] Shape, double[] Data)
{
    /// <summary>Number of elements.</summary>
    public int Length => Data.Length;

    /// <summary>Size of axis <paramref name="axis"/> (negative counts from the end).</summary>
    public int Dim(int axis) => Shape[axis < 0 ? Shape.Length + axis : axis];

    /// <summary>Reads <c>{"shape": [...], "data": [...]}</c>.</summary>
    public static Tensor From(JsonElement e)
    {
        var shape = e.GetProperty("shape").EnumerateArray().Select(x => x.GetInt32()).ToArray();
        var dataEl = e.GetProperty("data");
        var data = new double[dataEl.GetArrayLength()];
        int i = 0;
        foreach (var x in dataEl.EnumerateArray())
        {
            data[i++] = x.ValueKind == JsonValueKind.Null ? double.NaN : x.GetDouble();
        }

        return new Tensor(shape, data);
    }

    /// <summary>Reads a parameter-space tensor list <c>[{"name": ..., "tensor": T}, ...]</c> in order.</summary>
    public static List<(string Name, Tensor Tensor)> ListFrom(JsonElement e) =>
        e.EnumerateArray().Select(x => (x.GetProperty("name").GetString()!, From(x.GetProperty("tensor")))).ToList();
}

/// <summary>JSON helpers for optional scalars.</summary>
public static class JsonExtensions
{
    /// <summary>A number, or NaN for <c>null</c>.</summary>
    public static double GetDoubleOrNaN(this JsonElement e) => e.ValueKind == JsonValueKind.Null ? double.NaN : e.GetDouble();
}
