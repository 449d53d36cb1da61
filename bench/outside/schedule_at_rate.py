#!/usr/bin/env python3
"""Schedules tasks one at a time at a steady rate, from outside drover.

A ScheduleTask unary call per task over grpcio (Debian's python3-grpcio and
python3-protobuf), with the few message fields it needs described here: it shares no
code with drover. Before each call it notes the wall clock, so the benchmark can time a
task from the moment a client outside drover sent it to the moment its handler ran on a
worker (the handler returns its own wall-clock reading; one machine, one clock).

    schedule_at_rate.py ADDRESS COUNT RATE_PER_SEC

Prints one JSON line per task, {"id": ..., "sentMs": <epoch ms, fractional>}, after 20
warm-up tasks (ids warm-N) that are not printed. Exits 1 with the gRPC status on an error.
"""

import json
import sys
import time

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory


def schedule_messages():
    """scheduler.v1's Task (id, payload) and ScheduleTask's request and response."""
    f = descriptor_pb2.FileDescriptorProto(
        name="outside/schedule.proto", package="scheduler.v1", syntax="proto3"
    )
    S = descriptor_pb2.FieldDescriptorProto
    task = f.message_type.add(name="Task")
    task.field.add(name="id", number=1, type=S.TYPE_STRING, label=S.LABEL_OPTIONAL)
    task.field.add(name="payload", number=2, type=S.TYPE_STRING, label=S.LABEL_OPTIONAL)
    request = f.message_type.add(name="ScheduleTaskRequest")
    request.field.add(
        name="task",
        number=1,
        type=S.TYPE_MESSAGE,
        type_name=".scheduler.v1.Task",
        label=S.LABEL_OPTIONAL,
    )
    response = f.message_type.add(name="ScheduleTaskResponse")
    response.field.add(name="id", number=1, type=S.TYPE_STRING, label=S.LABEL_OPTIONAL)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(f)
    factory = message_factory.MessageFactory(pool)
    get = factory.GetPrototype  # protobuf 4.21 (Debian 12); GetMessageClass came later
    return (
        get(pool.FindMessageTypeByName("scheduler.v1.Task")),
        get(pool.FindMessageTypeByName("scheduler.v1.ScheduleTaskRequest")),
        get(pool.FindMessageTypeByName("scheduler.v1.ScheduleTaskResponse")),
    )


def main() -> int:
    address, count, rate = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    Task, Request, Response = schedule_messages()
    channel = grpc.insecure_channel(address)
    schedule = channel.unary_unary(
        "/scheduler.v1.SchedulerService/ScheduleTask",
        request_serializer=lambda m: m.SerializeToString(),
        response_deserializer=Response.FromString,
    )
    try:
        for i in range(20):
            schedule(Request(task=Task(id=f"warm-{i}", payload="x")), timeout=10)
        interval = 1.0 / rate
        next_at = time.monotonic()
        for i in range(count):
            task_id = f"outside-{i}"
            sent_ms = time.time_ns() / 1e6
            schedule(Request(task=Task(id=task_id, payload="x")), timeout=10)
            print(json.dumps({"id": task_id, "sentMs": sent_ms}), flush=True)
            next_at += interval
            time.sleep(max(0.0, next_at - time.monotonic()))
    except grpc.RpcError as err:
        print(f"{err.code().name}: {err.details()}", file=sys.stderr)
        return 1
    finally:
        channel.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
