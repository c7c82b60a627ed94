using System.Diagnostics;
using Curvature.Backends.Managed;
using Curvature.Demo.Data;
using Curvature.Demo.Optimizers;
using Curvature.Demo.Tasks;
using Curvature.Demo.Training;
using Curvature.Loss;
using Curvature.Optimizers;
using Curvature.TorchSharp.Tests.TestKit;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Curvature.TorchSharp.Tests.Demo;

/// <summary>The trainer's promises: equal budgets on the training clock only, the step cap, the same initial
/// parameters and batches for every optimizer, and divergence handling.</summary>
[Collection(nameof(SerialTests))]
public sealed class TrainerTests : IDisposable
{
    private readonly DemoTestData _files = new(trainCount: 64, testCount: 20);
    private readonly DemoData _data;

    public TrainerTests() => _data = DemoData.Load(_files.Directory);

    public void Dispose()
    {
        _data.Dispose();
        _files.Dispose();
    }

    private static TrainingPlan Plan(double budget, long? cap = null, int seed = 1, double target = 0.5) =>
        new() { BatchSize = 8, BudgetSeconds = budget, TargetLoss = target, StepCap = cap, Seed = seed, Evaluations = 4, EvaluationSize = 16, WarmUpSteps = 1 };

    private Trainer Trainer(DemoTask task, TrainingPlan plan) => new(task, _data, plan, new ManagedBackend());

    [Fact]
    public void Budget_CountsOnlyTheSteps_AndEndsAtTheFirstStepThatCrossesIt()
    {
        // Every batch and every evaluation calls the task's Input, which sleeps: none of that may count as training time.
        var task = new SlowInputTask(TimeSpan.FromMilliseconds(15));
        using var trainer = Trainer(task, Plan(budget: 0.3));
        var log = new FakeLog();

        var result = trainer.Run(Fake("fake", log, _ => 1.0, TimeSpan.FromMilliseconds(20)), new SilentProgress());

        Assert.Equal(StopReason.Budget, result.StopReason);
        Assert.True(result.StepSeconds[^1] >= 0.3, $"stopped at {result.StepSeconds[^1]} s, before the budget");
        Assert.True(result.StepSeconds[^2] < 0.3, $"step {result.Steps - 1} had already used the budget ({result.StepSeconds[^2]} s)");
        Assert.Equal(result.StepSeconds[^1], result.TrainingSeconds);
        double inside = log.StepSeconds.Sum();
        Assert.True(result.TrainingSeconds >= inside, $"training clock {result.TrainingSeconds} s < the steps' own {inside} s");
        Assert.True(result.TrainingSeconds < inside + (0.005 * result.Steps), $"training clock {result.TrainingSeconds} s includes more than the steps ({inside} s)");
        Assert.True(result.WallSeconds > result.TrainingSeconds + (0.015 * result.Steps), "batches and evaluations took wall time outside the clock");
    }

    [Fact]
    public void StepCap_EndsTheRunFirst_WhenItIsReachedBeforeTheBudget()
    {
        using var trainer = Trainer(new CnnTask(), Plan(budget: 600, cap: 3));

        var result = trainer.Run(Fake("fake", new FakeLog(), _ => 1.0, TimeSpan.Zero), new SilentProgress());

        Assert.Equal(StopReason.StepCap, result.StopReason);
        Assert.Equal(3, result.Steps);
        Assert.Equal(3, result.Evaluations[^1].Step);
        Assert.True(double.IsFinite(result.FinalTestLoss));
        Assert.True(double.IsFinite(result.FinalTestAccuracy));
    }

    [Fact]
    public void Target_IsTheFirstEvaluationAtOrBelowIt_WithItsTrainingTime()
    {
        using var trainer = Trainer(new CnnTask(), Plan(budget: 600, cap: 24, target: 2.0));
        var adam = OptimizerCatalog.Find("adam")!;

        var result = trainer.Run(adam, new SilentProgress());

        var evaluations = result.Evaluations;
        Assert.True(evaluations[0].TrainLoss > 2.0, $"initial loss {evaluations[0].TrainLoss}");
        var first = evaluations.First(e => e.TrainLoss <= 2.0);
        Assert.Equal(first.Step, result.StepsToTarget);
        Assert.Equal(result.StepSeconds[(int)first.Step - 1], result.SecondsToTarget);
        Assert.Equal(evaluations.Select(e => e.Step), evaluations.Select(e => e.Step).Order());
        Assert.Equal(new long[] { 0, 6, 12, 18, 24 }, evaluations.Select(e => e.Step)); // every cap / evaluations steps
    }

    [Fact]
    public void EveryOptimizer_StartsFromTheSameParameters_AndSeesTheSameBatches()
    {
        using var trainer = Trainer(new CnnTask(), Plan(budget: 600, cap: 12)); // 12 steps of 8 = one and a half epochs of 64
        var first = new FakeLog();
        var second = new FakeLog();

        trainer.Run(Fake("one", first, _ => 1.0, TimeSpan.Zero), new SilentProgress());
        trainer.Run(Fake("two", second, _ => 1.0, TimeSpan.Zero), new SilentProgress());

        Assert.Equal(first.InitialParameters, second.InitialParameters);
        Assert.Equal(12, first.Batches.Count);
        Assert.Equal(first.Batches, second.Batches);
        Assert.Equal(first.Labels, second.Labels);

        // The shared parameters are the seeded default initialisation, not a copy of anything trained.
        manual_seed(1);
        using var fresh = new CnnTask().CreateModel();
        Assert.Equal(Flatten(fresh), first.InitialParameters);

        // The first epoch (8 batches of 8) visits every training image once.
        using var sums = _data.TrainImages.sum(1);
        var images = sums.data<float>().ToArray().Select(v => (double)v).Order().ToArray();
        Assert.Equal(64, images.Distinct().Count());
        Assert.Equal(images, first.Batches.Take(8).SelectMany(b => b).Order().ToArray());
    }

    [Fact]
    public void AnotherSeed_GivesOtherParametersAndBatches()
    {
        var one = new FakeLog();
        var two = new FakeLog();
        using (var trainer = Trainer(new CnnTask(), Plan(budget: 600, cap: 2, seed: 1)))
        {
            trainer.Run(Fake("fake", one, _ => 1.0, TimeSpan.Zero), new SilentProgress());
        }

        using (var trainer = Trainer(new CnnTask(), Plan(budget: 600, cap: 2, seed: 2)))
        {
            trainer.Run(Fake("fake", two, _ => 1.0, TimeSpan.Zero), new SilentProgress());
        }

        Assert.NotEqual(one.InitialParameters, two.InitialParameters);
        Assert.NotEqual(one.Batches, two.Batches);
    }

    [Fact]
    public void NonFiniteLoss_EndsTheRunAsDiverged()
    {
        using var trainer = Trainer(new CnnTask(), Plan(budget: 600, cap: 10));

        var result = trainer.Run(Fake("fake", new FakeLog(), step => step == 3 ? double.PositiveInfinity : 1.0, TimeSpan.Zero), new SilentProgress());

        Assert.Equal(StopReason.Diverged, result.StopReason);
        Assert.True(result.Diverged);
        Assert.Equal(3, result.Steps);
        Assert.True(double.IsPositiveInfinity(result.StepLosses[^1]));
        Assert.Contains("not finite", result.DivergenceReason, StringComparison.Ordinal);
        Assert.True(double.IsNaN(result.FinalTrainLoss));
    }

    [Fact]
    public void RejectedStep_EndsTheRunAsDiverged_WithTheReason()
    {
        using var trainer = Trainer(new CnnTask(), Plan(budget: 600, cap: 10));
        var definition = new OptimizerDefinition("rejecting", "Rejecting", setup => new FakeMethod(new FakeLog(), step =>
            step == 2 ? throw new StepRejectedException(StepRejectionReason.NonFiniteUpdate, "the update holds NaN") : 1.0, TimeSpan.Zero, setup));

        var result = trainer.Run(definition, new SilentProgress());

        Assert.Equal(StopReason.Diverged, result.StopReason);
        Assert.Equal(2, result.Steps);
        Assert.Contains("the update holds NaN", result.DivergenceReason, StringComparison.Ordinal);
    }

    [Fact]
    public void BatchOrder_IsAPermutationPerEpoch_AndDependsOnlyOnSeedAndStep()
    {
        var order = new BatchOrder(exampleCount: 10, batchSize: 3, seed: 5);
        var again = new BatchOrder(exampleCount: 10, batchSize: 3, seed: 5);
        var other = new BatchOrder(exampleCount: 10, batchSize: 3, seed: 6);
        long[] Batch(BatchOrder o, long step)
        {
            var indices = new long[3];
            o.Fill(step, indices);
            return indices;
        }

        Assert.Equal(3, order.BatchesPerEpoch);
        for (long epoch = 0; epoch < 3; epoch++)
        {
            var seen = Enumerable.Range(0, 3).SelectMany(b => Batch(order, (epoch * 3) + b)).ToArray();
            Assert.Equal(9, seen.Distinct().Count()); // one example of each epoch's shuffle is left over
            Assert.All(seen, i => Assert.InRange(i, 0, 9));
        }

        Assert.Equal(Batch(order, 7), Batch(again, 7)); // random access: the same batch whatever was asked before
        Assert.Equal(Batch(order, 0), Batch(again, 0));
        Assert.NotEqual(Batch(order, 0), Batch(order, 3)); // the next epoch is another shuffle
        Assert.NotEqual(Enumerable.Range(0, 6).SelectMany(s => Batch(order, s)), Enumerable.Range(0, 6).SelectMany(s => Batch(other, s)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new BatchOrder(exampleCount: 2, batchSize: 3, seed: 1));
    }

    private static OptimizerDefinition Fake(string key, FakeLog log, Func<long, double> loss, TimeSpan delay) =>
        new(key, key, setup => new FakeMethod(log, loss, delay, setup));

    private static double[] Flatten(nn.Module model) =>
        [.. model.parameters().SelectMany(p => p.detach().contiguous().data<float>().ToArray()).Select(v => (double)v)];

    /// <summary>What a fake optimizer saw.</summary>
    private sealed class FakeLog
    {
        public double[] InitialParameters { get; set; } = [];

        public List<double[]> Batches { get; } = [];

        public List<long[]> Labels { get; } = [];

        public List<double> StepSeconds { get; } = [];
    }

    /// <summary>Records the model it was attached to and every batch, optionally sleeps, and returns a scripted loss.</summary>
    private sealed class FakeMethod : ITrainingMethod
    {
        private readonly FakeLog _log;
        private readonly Func<long, double> _loss;
        private readonly TimeSpan _delay;
        private readonly nn.Module _model;
        private long _step;

        public FakeMethod(FakeLog log, Func<long, double> loss, TimeSpan delay, TrainingSetup setup)
        {
            _log = log;
            _loss = loss;
            _delay = delay;
            _model = setup.Model;
            if (_log.InitialParameters.Length == 0)
            {
                _log.InitialParameters = Flatten(_model);
            }
        }

        public string Settings => "fake";

        public double Step(TrainingBatch batch)
        {
            var clock = Stopwatch.StartNew();
            _step++;
            // An image's identity: its index in the generated set is recoverable from its pixels only up to the label, so
            // record the pixel sums (distinct per image here thanks to the noise) and the labels.
            if (_log.Batches.Count < 100)
            {
                using var sums = batch.Images.sum(1);
                _log.Batches.Add([.. sums.data<float>().ToArray().Select(v => (double)v)]);
                _log.Labels.Add(batch.Labels.data<long>().ToArray());
            }

            if (_delay > TimeSpan.Zero)
            {
                Thread.Sleep(_delay);
            }

            double loss = _loss(_step);
            _log.StepSeconds.Add(clock.Elapsed.TotalSeconds);
            return loss;
        }

        public void Dispose()
        {
        }
    }

    /// <summary>The CNN task whose model input takes a while to make (so batches and evaluations are slow).</summary>
    private sealed class SlowInputTask(TimeSpan delay) : DemoTask
    {
        private readonly CnnTask _cnn = new();

        public override string Key => "slow";

        public override string Title => "slow";

        public override string Architecture => _cnn.Architecture;

        public override string LossDescription => _cnn.LossDescription;

        public override string LossName => _cnn.LossName;

        public override bool IsClassifier => true;

        public override LossFunction CurvatureLoss => _cnn.CurvatureLoss;

        public override int DefaultBatchSize => 8;

        public override double DefaultBudgetSeconds => 1;

        public override double DefaultTargetLoss => 0.5;

        public override string Baseline => "";

        public override double SgdLearningRate => 0.1;

        public override double AdamLearningRate => 1e-3;

        public override nn.Module<Tensor, Tensor> CreateModel() => _cnn.CreateModel();

        public override Tensor Input(Tensor images)
        {
            Thread.Sleep(delay);
            return _cnn.Input(images);
        }

        public override Tensor ComputeLoss(Tensor output, Tensor images, Tensor labels) => _cnn.ComputeLoss(output, images, labels);
    }

    private sealed class SilentProgress : IRunProgress
    {
        public void Start(string task, string optimizer, TrainingPlan plan)
        {
        }

        public void Report(long step, double batchLoss, double seconds)
        {
        }

        public void Finish(RunResult result)
        {
        }
    }
}
