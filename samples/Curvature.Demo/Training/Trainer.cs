using System.Diagnostics;
using Curvature.Backends;
using Curvature.Demo.Data;
using Curvature.Demo.Optimizers;
using Curvature.Demo.Tasks;
using Curvature.Optimizers;
using static TorchSharp.torch;

namespace Curvature.Demo.Training;

/// <summary>
/// Trains each optimizer on one task from the same initial parameters and the same batch sequence, each for the same
/// wall-clock budget (optimizer steps only: batch gathering and evaluations are outside the clock) or until the step
/// cap. The training loss is evaluated on a fixed training subset at evenly spaced points of the budget (and of the step
/// cap); the test loss and accuracy on the whole test set in use at the end.
/// </summary>
public sealed class Trainer : IDisposable
{
    private readonly DemoTask _task;
    private readonly DemoData _data;
    private readonly CurvatureBackend _backend;
    private readonly (string Name, Tensor Value)[] _initial;
    private readonly BatchOrder _order;
    private readonly long[] _indices;

    /// <summary>Draws the shared initial parameters (torch's generator seeded with the plan's seed) and plans the batch order.</summary>
    public Trainer(DemoTask task, DemoData data, TrainingPlan plan, CurvatureBackend backend)
    {
        ArgumentNullException.ThrowIfNull(task);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(plan);
        _task = task;
        _data = data;
        Plan = plan;
        _backend = backend;
        manual_seed(plan.Seed);
        using (var model = task.CreateModel())
        {
            _initial = [.. model.named_parameters().Select(p => (p.name, p.parameter.detach().clone().DetachFromDisposeScope()))];
            ParameterCount = DemoTask.ParameterCount(model);
        }

        _order = new BatchOrder(data.TrainCount, plan.BatchSize, plan.Seed);
        _indices = new long[plan.BatchSize];
    }

    /// <summary>The plan every run follows.</summary>
    public TrainingPlan Plan { get; }

    /// <summary>Trainable parameters of the model.</summary>
    public long ParameterCount { get; }

    /// <summary>Images of the training subset the training loss is evaluated on.</summary>
    public int TrainEvaluationCount => Math.Min(Plan.EvaluationSize, _data.TrainCount);

    /// <summary>A fresh model holding the shared initial parameters.</summary>
    public nn.Module<Tensor, Tensor> CreateInitialModel()
    {
        var model = _task.CreateModel();
        using var noGrad = no_grad();
        var parameters = model.named_parameters().ToDictionary(p => p.name, p => p.parameter, StringComparer.Ordinal);
        foreach (var (name, value) in _initial)
        {
            parameters[name].copy_(value);
        }

        return model;
    }

    /// <summary>The batch of step <paramref name="step"/> (0-based), in the current dispose scope.</summary>
    public TrainingBatch Batch(long step)
    {
        _order.Fill(step, _indices);
        using var index = tensor(_indices);
        var images = _data.TrainImages.index_select(0, index);
        var labels = _data.TrainLabels.index_select(0, index);
        return new TrainingBatch(_task.Input(images), images, labels);
    }

    /// <summary>Runs <see cref="TrainingPlan.WarmUpSteps"/> untimed steps on a throw-away model, so that the timed run
    /// does not pay for JIT compilation and first-call set-up.</summary>
    public void WarmUp(OptimizerDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        using var model = CreateInitialModel();
        using var method = Create(definition, model);
        for (int step = 0; step < Plan.WarmUpSteps; step++)
        {
            using var scope = NewDisposeScope();
            method.Step(Batch(step));
        }

        _task.Evaluate(model, _data.TestImages, _data.TestLabels, Math.Min(_data.TestCount, 100));
    }

    /// <summary>Trains a fresh copy of the initial model with <paramref name="definition"/>'s optimizer.</summary>
    public RunResult Run(OptimizerDefinition definition, IRunProgress progress)
    {
        ArgumentNullException.ThrowIfNull(definition);
        ArgumentNullException.ThrowIfNull(progress);
        var wall = Stopwatch.StartNew();
        using var model = CreateInitialModel();
        using var method = Create(definition, model);
        var clock = new Stopwatch();
        var losses = new List<double>();
        var seconds = new List<double>();
        var evaluations = new List<CurvePoint>();
        long? stepsToTarget = null;
        double? secondsToTarget = null;
        double budget = Plan.BudgetSeconds;
        long cap = Plan.StepCap ?? long.MaxValue;
        double secondsBetweenEvaluations = budget / Plan.Evaluations;
        long stepsBetweenEvaluations = Plan.StepCap is long c ? Math.Max(1, c / Plan.Evaluations) : long.MaxValue;
        double nextEvaluationSeconds = secondsBetweenEvaluations;
        long nextEvaluationStep = stepsBetweenEvaluations;
        string? divergence = null;

        void Evaluate(long step, double time, bool final = false)
        {
            var (train, _) = _task.Evaluate(model, _data.TrainImages, _data.TrainLabels, TrainEvaluationCount);
            var (test, accuracy) = final ? _task.Evaluate(model, _data.TestImages, _data.TestLabels, _data.TestCount) : (double.NaN, double.NaN);
            evaluations.Add(new CurvePoint(step, time, train, test, accuracy));
            if (stepsToTarget is null && train <= Plan.TargetLoss)
            {
                stepsToTarget = step;
                secondsToTarget = time;
            }

            if (!double.IsFinite(train) && divergence is null)
            {
                divergence = "the training loss of the evaluation is not finite";
            }
        }

        progress.Start(_task.Key, definition.DisplayName, Plan);
        Evaluate(0, 0);
        StopReason stop;
        while (true)
        {
            if (divergence is not null)
            {
                stop = StopReason.Diverged;
                break;
            }

            if (losses.Count >= cap)
            {
                stop = StopReason.StepCap;
                break;
            }

            if (clock.Elapsed.TotalSeconds >= budget)
            {
                stop = StopReason.Budget;
                break;
            }

            double loss;
            using (var scope = NewDisposeScope())
            {
                var batch = Batch(losses.Count);
                clock.Start();
                try
                {
                    loss = method.Step(batch);
                }
                catch (StepRejectedException e)
                {
                    loss = double.NaN;
                    divergence = $"the optimizer rejected the step: {e.Message}";
                }
                finally
                {
                    clock.Stop();
                }
            }

            double time = clock.Elapsed.TotalSeconds;
            losses.Add(loss);
            seconds.Add(time);
            progress.Report(losses.Count, loss, time);
            if (!double.IsFinite(loss))
            {
                divergence ??= $"the batch loss is not finite ({loss})";
                continue;
            }

            if (time >= nextEvaluationSeconds || losses.Count >= nextEvaluationStep)
            {
                Evaluate(losses.Count, time);
                while (nextEvaluationSeconds <= time)
                {
                    nextEvaluationSeconds += secondsBetweenEvaluations;
                }

                while (nextEvaluationStep <= losses.Count)
                {
                    nextEvaluationStep += stepsBetweenEvaluations;
                }
            }
        }

        if (stop != StopReason.Diverged)
        {
            if (evaluations[^1].Step == losses.Count)
            {
                evaluations.RemoveAt(evaluations.Count - 1);
            }

            Evaluate(losses.Count, clock.Elapsed.TotalSeconds, final: true);
        }

        var last = evaluations[^1];
        var result = new RunResult
        {
            TaskKey = _task.Key,
            OptimizerKey = definition.Key,
            OptimizerName = definition.DisplayName,
            Settings = method.Settings,
            StepLosses = losses,
            StepSeconds = seconds,
            Evaluations = evaluations,
            TrainingSeconds = clock.Elapsed.TotalSeconds,
            WallSeconds = wall.Elapsed.TotalSeconds,
            StopReason = stop,
            DivergenceReason = divergence,
            StepsToTarget = stepsToTarget,
            SecondsToTarget = secondsToTarget,
            FinalTrainLoss = stop == StopReason.Diverged ? double.NaN : last.TrainLoss,
            FinalTestLoss = last.TestLoss,
            FinalTestAccuracy = last.TestAccuracy,
        };
        progress.Finish(result);
        return result;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var (_, value) in _initial)
        {
            value.Dispose();
        }
    }

    private ITrainingMethod Create(OptimizerDefinition definition, nn.Module<Tensor, Tensor> model) =>
        definition.Create(new TrainingSetup(_task, model, _backend, Plan.Seed, Plan.LearningRate));
}
