using Curvature.Parameters;
using Xunit;

namespace Curvature.Tests.Parameters;

public sealed class ParameterLayoutTests
{
    [Fact]
    public void Layout_SortsNamesByCodePoint_LikePythonSorted()
    {
        var set = new ParameterSet();
        // Python: sorted(["b", "a", "B", "é", "\ufffd", "\U0001F600", "a1"]) == ["B", "a", "a1", "b", "é", "\ufffd", "\U0001F600"]
        foreach (var name in new[] { "b", "a", "B", "é", "\uFFFD", "\U0001F600", "a1" })
        {
            set.Add(name, new[] { 1.0 });
        }

        Assert.Equal(["B", "a", "a1", "b", "é", "\uFFFD", "\U0001F600"], set.Layout.Names);
    }

    [Fact]
    public void Flatten_ConcatenatesRowMajorInLayoutOrder_AndDeflattenRestores()
    {
        var set = new ParameterSet();
        set.Add("w", new[] { 1.0, 2.0, 3.0, 4.0, 5.0, 6.0 }, 2, 3);
        set.Add("bias", new[] { 7.0, 8.0 }, 2);
        set.Add(NamedTensor<double>.Scalar("alpha", 9.0));
        var layout = set.Layout;
        Assert.Equal(9, layout.TotalLength);
        Assert.Equal(new ParameterSlot("alpha", 0, 1), layout["alpha"]);
        Assert.Equal(new ParameterSlot("bias", 1, 2), layout["bias"]);
        Assert.Equal(new ParameterSlot("w", 3, 6), layout["w"]);
        Assert.Equal(9, layout["w"].End);
        Assert.Equal([9.0, 7.0, 8.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0], set.Flatten<double>());

        double[] v = [-1, -2, -3, -4, -5, -6, -7, -8, -9];
        set.Deflatten<double>(v);
        Assert.Equal(-1.0, set.Get<double>("alpha").Span[0]);
        Assert.Equal([-2.0, -3.0], set.Get<double>("bias").Span.ToArray());
        Assert.Equal([-4.0, -5.0, -6.0, -7.0, -8.0, -9.0], set.Get<double>("w").Span.ToArray());
        Assert.Equal(v, set.Flatten<double>());
    }

    [Fact]
    public void Flatten_MixedFloatAndDouble_ConvertsElementwise()
    {
        var set = new ParameterSet();
        set.Add("f", new[] { 0.1f, 2.5f });
        set.Add("d", new[] { 0.1, 1e300 });
        var asDouble = set.Flatten<double>();
        Assert.Equal([0.1, 1e300, (double)0.1f, 2.5], asDouble);
        var asFloat = set.Flatten<float>();
        Assert.Equal([0.1f, float.PositiveInfinity, 0.1f, 2.5f], asFloat);

        set.Deflatten<double>([1.0, 2.0, 1.0 / 3.0, 4.0]);
        Assert.Equal((float)(1.0 / 3.0), set.Get<float>("f").Span[0]);
        Assert.Equal([1.0, 2.0], set.Get<double>("d").Span.ToArray());
        Assert.Equal(typeof(float), set["f"].ElementType);
    }

    [Fact]
    public void DeflattenToNew_KeepsShapesAndTypes_AndLeavesTheTemplateAlone()
    {
        var like = new ParameterSet();
        like.Add("m", new[] { 1f, 2f, 3f, 4f }, 2, 2);
        like.Add(NamedTensor<double>.Scalar("s", 5));
        var fresh = like.Layout.DeflattenToNew<double>([10, 20, 30, 40, 50], like);
        Assert.Equal([50.0], fresh.Get<double>("s").Span.ToArray());
        Assert.Equal(0, fresh["s"].Rank);
        Assert.Equal([10f, 20f, 30f, 40f], fresh.Get<float>("m").Span.ToArray());
        Assert.Equal(new[] { 2, 2 }, fresh["m"].Shape.ToArray());
        Assert.Equal([1f, 2f, 3f, 4f], like.Get<float>("m").Span.ToArray());
    }

    [Fact]
    public void UnknownMissingOrMismatchedNames_ThrowClearErrors()
    {
        var set = new ParameterSet();
        set.Add("a", new[] { 1.0, 2.0 });
        set.Add("b", new[] { 3.0 });
        var layout = set.Layout;

        var extra = new ParameterSet();
        extra.Add("a", new[] { 1.0, 2.0 });
        extra.Add("b", new[] { 3.0 });
        extra.Add("zzz", new[] { 3.0 });
        var e = Assert.Throws<ArgumentException>(() => layout.Flatten(extra, new double[3]));
        Assert.Contains("Unknown parameter 'zzz'", e.Message);

        var missing = new ParameterSet();
        missing.Add("a", new[] { 1.0, 2.0 });
        e = Assert.Throws<ArgumentException>(() => layout.Deflatten<double>(new double[3], missing));
        Assert.Contains("'b'", e.Message);

        var resized = new ParameterSet();
        resized.Add("a", new[] { 1.0, 2.0, 3.0 });
        resized.Add("b", new[] { 3.0 });
        e = Assert.Throws<ArgumentException>(() => layout.Flatten(resized, new double[3]));
        Assert.Contains("Size mismatch for parameter 'a'", e.Message);

        Assert.Throws<ArgumentException>(() => layout.Flatten(set, new double[4]));
        Assert.Throws<ArgumentException>(() => set.Deflatten<double>(new double[2]));
        Assert.Throws<ArgumentException>(() => layout["nope"]);
        Assert.False(layout.TryGetSlot("nope", out _));
        Assert.Throws<KeyNotFoundException>(() => set["nope"]);
        Assert.Throws<ArgumentException>(() => set.Add("a", new[] { 1.0 }));
        Assert.Throws<InvalidCastException>(() => set.Get<float>("a"));
    }

    [Fact]
    public void GatherGradients_FollowsTheSeed_SizeNotShape_ExtraNamesIgnored()
    {
        var set = new ParameterSet();
        set.Add("w", new double[6], 2, 3);
        set.Add("b", new double[2]);
        var grads = new ParameterSet();
        grads.Add("w", new[] { 1f, 2f, 3f, 4f, 5f, 6f }, 3, 2);
        grads.Add("b", new[] { 7.0, 8.0 });
        grads.Add("extra", new[] { 9.0 });
        var g = new double[8];
        set.Layout.GatherGradients(grads, g);
        Assert.Equal([7.0, 8.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0], g);

        var bad = new ParameterSet();
        bad.Add("w", new double[5]);
        bad.Add("b", new double[2]);
        var e = Assert.Throws<ArgumentException>(() => set.Layout.GatherGradients(bad, g));
        Assert.Contains("Gradient size mismatch for key 'w'", e.Message);
        Assert.Throws<ArgumentException>(() => set.Layout.GatherGradients(new ParameterSet(), g));
    }

    [Fact]
    public void NamedTensor_ValidatesShapeAgainstData()
    {
        Assert.Throws<ArgumentException>(() => new NamedTensor<double>("x", new double[5], [2, 3]));
        Assert.Throws<ArgumentException>(() => new NamedTensor<double>("x", new double[0], [-1]));
        Assert.Throws<ArgumentException>(() => new NamedTensor<double>("", new double[1], []));
        var scalar = NamedTensor<float>.Scalar("s", 2f);
        Assert.Equal(1, scalar.Length);
        Assert.Equal(0, scalar.Rank);
        var z = NamedTensor<double>.Zeros("z", 2, 0, 3);
        Assert.Equal(0, z.Length);
        Assert.Equal("z: Double[2, 0, 3]", z.ToString());
    }

    [Fact]
    public void Layout_IsCachedAndRebuiltAfterChanges()
    {
        var set = new ParameterSet();
        set.Add("a", new[] { 1.0 });
        var first = set.Layout;
        Assert.Same(first, set.Layout);
        set.Add("b", new[] { 2.0, 3.0 });
        Assert.NotSame(first, set.Layout);
        Assert.Equal(3, set.Layout.TotalLength);
        Assert.True(set.Remove("a"));
        Assert.Equal(2, set.Layout.TotalLength);
    }
}
