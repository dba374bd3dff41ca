"""``SubprocVecEnv``: one worker process per env, driven over pipes.

Worth it when one env step is expensive (Atari, physics simulators): the envs then step in parallel.
Failures never hang the parent: an exception raised by an env in its worker is sent back and raised
in the parent (naming the env index, the original type, message and traceback), a worker that
dies (killed, ``os._exit``, crash) is detected through end-of-file on its pipe or a liveness check
while waiting, and a worker that is alive but does not answer within ``timeout`` seconds (stopped,
deadlocked) raises ``VecEnvTimeoutError``.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import signal
import time
import traceback
import warnings
from collections.abc import Callable, Iterable, Sequence
from multiprocessing.connection import Connection
from typing import Any

import cloudpickle
import gymnasium as gym
import numpy as np

from baselines3.common.vec_env.base_vec_env import (
    CloudpickleWrapper,
    VecEnv,
    VecEnvIndices,
    VecEnvObs,
    VecEnvStepReturn,
)
from baselines3.common.vec_env.dummy_vec_env import _check_env_fns
from baselines3.common.vec_env.env_contract import (
    EnvContractError,
    raise_unpack_error,
    reward_batch,
    split_reset,
    stack_checked,
)
from baselines3.common.vec_env.util import is_wrapped, obs_space_info

__all__ = ["DEFAULT_WORKER_TIMEOUT", "SubprocVecEnv", "VecEnvTimeoutError", "VecEnvWorkerError"]

# How often (seconds) a waiting parent checks that a silent worker is still alive.
_LIVENESS_INTERVAL = 0.25
# How long close() waits for workers to exit before terminating them.
_CLOSE_TIMEOUT = 5.0
#: Seconds a worker may take to answer one command before SubprocVecEnv reports it as hung (see its docstring)
DEFAULT_WORKER_TIMEOUT = 600.0


class VecEnvWorkerError(RuntimeError):
    """An env raised an exception in its worker process, or the worker process died.

    :param message: full description (env index, original error, remote traceback)
    :param env_index: index of the failing env
    :param remote_type: qualified name of the original exception type (None if the worker died)
    :param remote_traceback: traceback text from the worker ("" if the worker died)
    """

    def __init__(
        self, message: str, env_index: int, remote_type: str | None = None, remote_traceback: str = ""
    ) -> None:
        super().__init__(message)
        self.env_index = env_index
        self.remote_type = remote_type
        self.remote_traceback = remote_traceback

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (str(self), self.env_index, self.remote_type, self.remote_traceback))


class VecEnvTimeoutError(VecEnvWorkerError):
    """A worker process is alive but did not answer a command within the SubprocVecEnv's ``timeout`` (stopped,
    deadlocked, or an env call slower than the timeout). The SubprocVecEnv cannot continue; ``close()`` kills
    the worker.

    :param message: full description (env index, command, timeout)
    :param env_index: index of the env whose worker did not answer
    :param timeout: the timeout in seconds
    """

    def __init__(self, message: str, env_index: int, timeout: float = 0.0) -> None:
        super().__init__(message, env_index)
        self.timeout = timeout

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (str(self), self.env_index, self.timeout))


class _RemoteError:
    """Reply sent by a worker whose env raised; replaces the normal reply of that command."""

    def __init__(self, exc: BaseException) -> None:
        self.type_name = f"{type(exc).__module__}.{type(exc).__qualname__}".removeprefix("builtins.")
        self.is_attribute_error = isinstance(exc, AttributeError)
        self.is_contract_error = isinstance(exc, EnvContractError)
        self.message = str(exc)
        self.traceback = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        self.pid = os.getpid()
        try:
            self.exception: bytes | None = cloudpickle.dumps(exc)
        except Exception:
            self.exception = None

    def to_exception(self, env_index: int, command: str) -> Exception:
        message = (
            f"Env {env_index} raised {self.type_name} during {command} "
            f"(SubprocVecEnv worker, pid {self.pid}): "
            f"{self.message}\n--- traceback in the worker ---\n{self.traceback.rstrip()}"
        )
        error: Exception
        if self.is_contract_error:  # the env broke gymnasium's API: the message already says how
            error = EnvContractError(f"{self.message} (in the SubprocVecEnv worker, pid {self.pid})", env_index)
        elif self.is_attribute_error:
            error = AttributeError(message)
        else:
            error = VecEnvWorkerError(message, env_index, self.type_name, self.traceback)
        if self.exception is not None:
            with contextlib.suppress(Exception):  # the type may not exist in this process
                error.__cause__ = cloudpickle.loads(self.exception)
        return error


class _Failed:
    """Parent-side marker for a worker reply that is an error (so any value can be a normal reply)."""

    __slots__ = ("error",)

    def __init__(self, error: Exception) -> None:
        self.error = error


def _worker(remote: Connection, parent_remote: Connection, env_fn_wrapper: CloudpickleWrapper, index: int = 0) -> None:
    """Worker loop: build the env, report its spaces, then serve commands until "close"."""
    parent_remote.close()
    env: gym.Env | None = None
    try:
        try:
            env = env_fn_wrapper.var()
            remote.send((env.observation_space, env.action_space))
        except Exception as exc:
            remote.send(_RemoteError(exc))
            return
        while True:
            try:
                cmd, data = remote.recv()
            except (EOFError, OSError):  # the parent is gone
                break
            try:
                if cmd == "step":
                    try:
                        obs, reward, terminated, truncated, info = env.step(data)
                    except (ValueError, TypeError) as exc:
                        raise_unpack_error(exc, index, "step", env)
                        raise
                    done = terminated or truncated
                    info["TimeLimit.truncated"] = bool(truncated) and not terminated
                    reset_info = None
                    if done:
                        info["terminal_observation"] = obs
                        obs, reset_info = _reset(env, index)
                    remote.send((obs, reward, done, info, reset_info))
                elif cmd == "reset":
                    seed, options = data
                    if options:
                        remote.send(_reset(env, index, seed=seed, options=options))
                    else:
                        remote.send(_reset(env, index, seed=seed))
                elif cmd == "render":
                    remote.send(env.render())
                elif cmd == "get_attr":
                    remote.send(env.get_wrapper_attr(data))
                elif cmd == "set_attr":
                    env.set_wrapper_attr(data[0], data[1])
                    remote.send(None)
                elif cmd == "env_method":
                    method_name, args, kwargs = data
                    remote.send(env.get_wrapper_attr(method_name)(*args, **kwargs))
                elif cmd == "is_wrapped":
                    remote.send(is_wrapped(env, data))
                elif cmd == "has_attr":
                    remote.send(env.has_wrapper_attr(data))
                elif cmd == "close":
                    break
                else:
                    raise NotImplementedError(f"SubprocVecEnv worker got unknown command {cmd!r}")
            except Exception as exc:
                remote.send(_RemoteError(exc))
    except KeyboardInterrupt:
        pass  # Ctrl-C reaches the whole process group; the parent handles it
    except (BrokenPipeError, EOFError):
        pass  # the parent closed its end
    finally:
        if env is not None:
            with contextlib.suppress(Exception):
                env.close()
        remote.close()


def _reset(env: gym.Env, index: int, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
    try:
        result = env.reset(**kwargs)
    except (ValueError, TypeError) as exc:  # a wrapper failed to unpack the env's result
        raise_unpack_error(exc, index, "reset", env)
        raise
    return split_reset(result, index, env)


class SubprocVecEnv(VecEnv):
    """Run each env in its own process and step them in parallel.

    :param env_fns: functions that each create one env (sent to the workers with cloudpickle)
    :param start_method: ``"forkserver"``, ``"spawn"`` or ``"fork"``; default ``"forkserver"`` where
        available, else ``"spawn"`` (``"fork"`` starts fastest but is unsafe once threads exist).
        With ``"forkserver"``/``"spawn"`` the main script must guard its code with
        ``if __name__ == "__main__":``.
    :param timeout: seconds each worker may take to answer one command (a step, a reset, an ``env_method``
        call...) before ``VecEnvTimeoutError`` reports it as hung, naming its index; None waits forever, as
        Stable-Baselines3 does. Starting the workers and creating their envs may take up to
        ``max(timeout, DEFAULT_WORKER_TIMEOUT)``. The default, 600 s (``DEFAULT_WORKER_TIMEOUT``), is far above any
        single env call of common envs (milliseconds for a step; seconds to build a simulator or render) so that
        slow envs never trip it, while a stopped or deadlocked worker is still reported instead of blocking
        training forever. A dead worker is reported at once, whatever the timeout.
    """

    def __init__(
        self,
        env_fns: Sequence[Callable[[], gym.Env]],
        start_method: str | None = None,
        timeout: float | None = DEFAULT_WORKER_TIMEOUT,
    ) -> None:
        env_fns = _check_env_fns(env_fns, "SubprocVecEnv")
        if timeout is not None and (
            isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout < float("inf")
        ):
            raise ValueError(f"timeout must be a number of seconds > 0, or None to wait forever; got {timeout!r}")
        self.timeout = None if timeout is None else float(timeout)
        available = mp.get_all_start_methods()
        if start_method is None:
            start_method = "forkserver" if "forkserver" in available else "spawn"
        elif start_method not in available:
            raise ValueError(f"start_method must be one of {available} on this platform, got {start_method!r}")
        ctx: Any = mp.get_context(start_method)
        self.closed = False
        self.waiting = False
        # Set when a worker died or hung: the others may be fine, but the batch cannot go on.
        self._dead_error: VecEnvWorkerError | None = None
        self._hung: set[int] = set()  # workers that timed out: close() kills them without waiting
        self.remotes: list[Connection] = []
        self.processes: list[Any] = []
        try:
            for index, env_fn in enumerate(env_fns):
                remote, work_remote = ctx.Pipe()
                process = ctx.Process(
                    target=_worker,
                    args=(work_remote, remote, CloudpickleWrapper(env_fn), index),
                    daemon=True,  # a crashed parent must not leave workers behind
                    name=f"SubprocVecEnv-worker-{index}",
                )
                self.remotes.append(remote)
                self.processes.append(process)
                try:
                    process.start()
                finally:
                    work_remote.close()
            # Each worker reports its spaces once its env exists (or the error that prevented it).
            # starting a worker includes importing the env's modules, slow on a busy machine: a short timeout
            # meant for steps does not apply to it
            start_timeout = None if self.timeout is None else max(self.timeout, DEFAULT_WORKER_TIMEOUT)
            env_spaces = self._recv_all(range(len(env_fns)), "env creation", start_timeout)
            observation_space, action_space = env_spaces[0]
            super().__init__(len(env_fns), observation_space, action_space)
            _, self._shapes, self._dtypes = obs_space_info(observation_space)
        except BaseException:
            self.close()
            raise

    # ----- communication --------------------------------------------------------------------------
    def _dead_worker_error(self, index: int, command: str) -> VecEnvWorkerError:
        process = self.processes[index]
        process.join(timeout=0.5)
        code = process.exitcode
        if code is None:
            how = "closed its pipe"
        elif code < 0:
            try:
                how = f"was killed by signal {signal.Signals(-code).name}"
            except ValueError:
                how = f"was killed by signal {-code}"
        else:
            how = f"exited with code {code}"
        error = VecEnvWorkerError(
            f"The worker process of env {index} (pid {process.pid}) {how} during {command}; "
            "the SubprocVecEnv cannot continue (check the env for crashes or out-of-memory kills).",
            index,
        )
        self._dead_error = error
        return error

    def _timeout_error(self, index: int, command: str, timeout: float) -> VecEnvTimeoutError:
        process = self.processes[index]
        error = VecEnvTimeoutError(
            f"The worker process of env {index} (pid {process.pid}) is alive but did not answer {command} within "
            f"timeout={timeout:g} s (stopped, deadlocked, or an env call slower than that); the SubprocVecEnv "
            "cannot continue and close() kills the worker. For an env that is this slow, pass a larger "
            "SubprocVecEnv(..., timeout=seconds) or timeout=None to wait forever.",
            index,
            timeout,
        )
        self._dead_error = error
        self._hung.add(index)
        return error

    def _send(self, index: int, message: tuple[str, Any], command: str) -> None:
        if self.closed:
            raise RuntimeError(f"Cannot run {command}: this SubprocVecEnv is closed")
        if self._dead_error is not None:
            raise VecEnvWorkerError(
                f"Cannot run {command}: an earlier failure broke this SubprocVecEnv: {self._dead_error}",
                self._dead_error.env_index,
            )
        try:
            self.remotes[index].send(message)
        except (BrokenPipeError, ConnectionResetError, EOFError, OSError) as exc:
            raise self._dead_worker_error(index, command) from exc

    def _recv(self, index: int, command: str, deadline: float | None, timeout: float | None) -> Any:
        """Wait (until the ``time.monotonic()`` ``deadline`` that ``timeout`` set, None: forever) for the reply of
        worker ``index``; a failure is returned wrapped in ``_Failed``."""
        remote = self.remotes[index]
        process = self.processes[index]
        try:
            wait = _LIVENESS_INTERVAL
            while not remote.poll(wait):
                if not process.is_alive():
                    if remote.poll(0):  # it replied just before exiting
                        break
                    return _Failed(self._dead_worker_error(index, command))
                if deadline is not None:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return _Failed(self._timeout_error(index, command, timeout or 0.0))
                    wait = min(_LIVENESS_INTERVAL, left)
            reply = remote.recv()
        except (EOFError, ConnectionResetError, BrokenPipeError, OSError):
            return _Failed(self._dead_worker_error(index, command))
        if type(reply) is _RemoteError:
            return _Failed(reply.to_exception(index, command))
        return reply

    def _recv_all(self, indices: Iterable[int], command: str, timeout: float | None = -1.0) -> list[Any]:
        """Replies of several workers (each within ``timeout`` seconds of this call; -1: the SubprocVecEnv's own
        timeout); all are read before the first failure is raised."""
        if timeout == -1.0:
            timeout = self.timeout
        deadline = None if timeout is None else time.monotonic() + timeout
        replies = [self._recv(index, command, deadline, timeout) for index in indices]
        for reply in replies:
            if type(reply) is _Failed:
                raise reply.error
        return replies

    # ----- VecEnv API -----------------------------------------------------------------------------
    def step_async(self, actions: np.ndarray) -> None:
        if self.waiting:
            raise RuntimeError("step_async() called twice without step_wait() in between")
        actions = self._action_batch(actions)
        for index in range(self.num_envs):
            self._send(index, ("step", actions[index]), "step")
        self.waiting = True

    def step_wait(self) -> VecEnvStepReturn:
        try:
            results = self._recv_all(range(self.num_envs), "step")
        finally:
            self.waiting = False
        obs, rewards, dones, infos, reset_infos = zip(*results)
        for index, reset_info in enumerate(reset_infos):
            if reset_info is not None:
                self.reset_infos[index] = reset_info
        return (
            stack_checked(obs, self.observation_space, self._shapes, self._dtypes, "step"),
            reward_batch(rewards, self.num_envs),
            np.array(dones, dtype=bool),
            list(infos),
        )

    def reset(self) -> VecEnvObs:
        for index in range(self.num_envs):
            self._send(index, ("reset", (self._seeds[index], self._options[index])), "reset")
        results = self._recv_all(range(self.num_envs), "reset")
        obs, reset_infos = zip(*results)
        self.reset_infos = list(reset_infos)
        self._reset_seeds()
        self._reset_options()
        stacked: VecEnvObs = stack_checked(obs, self.observation_space, self._shapes, self._dtypes, "reset")
        return stacked

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.waiting = False
        for index in self._hung:  # it would not read "close": kill it now rather than after _CLOSE_TIMEOUT
            self.processes[index].kill()
            self.processes[index].join(timeout=1.0)
        for remote, process in zip(self.remotes, self.processes):
            if process.is_alive():
                with contextlib.suppress(BrokenPipeError, ConnectionResetError, EOFError, OSError):
                    remote.send(("close", None))
        # Wait for the workers to exit, discarding unread replies so none stays blocked on a full pipe.
        deadline = time.monotonic() + _CLOSE_TIMEOUT
        for remote, process in zip(self.remotes, self.processes):
            while process.is_alive() and time.monotonic() < deadline:
                try:
                    if remote.poll(0.05):
                        remote.recv()
                except (EOFError, OSError):
                    process.join(timeout=0.05)
        for process in self.processes:
            if process.pid is None:  # never started (its start failed)
                continue
            if process.is_alive():
                process.terminate()
                process.join(timeout=1.0)
            if process.is_alive():
                process.kill()
            process.join(timeout=1.0)
        for remote in self.remotes:
            remote.close()

    def _command(self, cmd: str, data: Any, indices: VecEnvIndices) -> list[Any]:
        targets = self._get_indices(indices)
        for index in targets:
            self._send(index, (cmd, data), cmd)
        return self._recv_all(targets, cmd)

    def get_images(self) -> Sequence[np.ndarray | None]:
        if self.render_mode != "rgb_array":
            warnings.warn(
                f"get_images() needs envs created with render_mode='rgb_array', not {self.render_mode!r}",
                stacklevel=2,
            )
            return [None] * self.num_envs
        return self._command("render", None, None)

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        return self._command("get_attr", attr_name, indices)

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        self._command("set_attr", (attr_name, value), indices)

    def env_method(
        self, method_name: str, *method_args: Any, indices: VecEnvIndices = None, **method_kwargs: Any
    ) -> list[Any]:
        return self._command("env_method", (method_name, method_args, method_kwargs), indices)

    def env_is_wrapped(self, wrapper_class: type[gym.Wrapper], indices: VecEnvIndices = None) -> list[bool]:
        return self._command("is_wrapped", wrapper_class, indices)

    def has_attr(self, attr_name: str) -> bool:
        return bool(self._command("has_attr", attr_name, 0)[0])
