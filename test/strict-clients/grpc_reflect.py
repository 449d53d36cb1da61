#!/usr/bin/env python3
"""A strict gRPC reflection client, used the way grpcurl is.

It shares no code with drover: it speaks server reflection (v1 or v1alpha) over grpcio,
links what the server sends in a fresh protobuf DescriptorPool (C++ when the protobuf
package is built with it, as Debian's python3-protobuf is), which refuses a file whose
imports were not sent or whose references do not resolve, exactly like grpcurl's
protoreflect, and calls methods with proto JSON in and out.

    grpc_reflect.py [-plaintext] [--reflection v1|v1alpha] ADDRESS list
    grpc_reflect.py [-plaintext] [--reflection v1|v1alpha] ADDRESS describe [SYMBOL]
    grpc_reflect.py [-plaintext] [--reflection v1|v1alpha] [-v] [-d JSON] ADDRESS SERVICE.METHOD

go-work's grpcurl commands paste as they are (`-plaintext` is accepted; this client only
speaks plaintext). ADDRESS may be ":50051" as in grpcurl. `list` prints one service a line,
as grpcurl does; calls print proto JSON (camelCase field names, enum names, RFC 3339
timestamps, defaults left out, as grpcurl prints it); describe prints a JSON description.
Errors go to stderr with the gRPC status and exit 1. A streaming method takes, as grpcurl
does, any number of JSON messages one after another in -d, sends them all, then prints each
response as it comes; -v also prints the response headers (to stderr, one "name: value" a
line after "Response headers received:").

Needs python3-grpcio and python3-protobuf (Debian), nothing else.
"""

import argparse
import json
import queue
import sys

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory


def reflection_file(package: str) -> descriptor_pb2.FileDescriptorProto:
    """The reflection protocol's messages, written out here so nothing comes from the server."""
    f = descriptor_pb2.FileDescriptorProto(
        name=f"client/{package.replace('.', '/')}/reflection.proto",
        package=package,
        syntax="proto3",
    )
    S = descriptor_pb2.FieldDescriptorProto

    def msg(name, *fields, oneofs=()):
        m = f.message_type.add(name=name)
        for o in oneofs:
            m.oneof_decl.add(name=o)
        for fname, number, ftype, extra in fields:
            field = m.field.add(name=fname, number=number, type=ftype, label=S.LABEL_OPTIONAL)
            label = extra.get("label")
            if label:
                field.label = label
            if "type_name" in extra:
                field.type_name = f".{package}.{extra['type_name']}"
            if "oneof" in extra:
                field.oneof_index = extra["oneof"]

    STR, I32, BYTES, MSG = S.TYPE_STRING, S.TYPE_INT32, S.TYPE_BYTES, S.TYPE_MESSAGE
    REP = {"label": S.LABEL_REPEATED}
    msg(
        "ServerReflectionRequest",
        ("host", 1, STR, {}),
        ("file_by_filename", 3, STR, {"oneof": 0}),
        ("file_containing_symbol", 4, STR, {"oneof": 0}),
        ("file_containing_extension", 5, MSG, {"oneof": 0, "type_name": "ExtensionRequest"}),
        ("all_extension_numbers_of_type", 6, STR, {"oneof": 0}),
        ("list_services", 7, STR, {"oneof": 0}),
        oneofs=("message_request",),
    )
    msg("ExtensionRequest", ("containing_type", 1, STR, {}), ("extension_number", 2, I32, {}))
    msg(
        "ServerReflectionResponse",
        ("valid_host", 1, STR, {}),
        ("original_request", 2, MSG, {"type_name": "ServerReflectionRequest"}),
        ("file_descriptor_response", 4, MSG, {"oneof": 0, "type_name": "FileDescriptorResponse"}),
        ("all_extension_numbers_response", 5, MSG, {"oneof": 0, "type_name": "ExtensionNumberResponse"}),
        ("list_services_response", 6, MSG, {"oneof": 0, "type_name": "ListServiceResponse"}),
        ("error_response", 7, MSG, {"oneof": 0, "type_name": "ErrorResponse"}),
        oneofs=("message_response",),
    )
    msg("FileDescriptorResponse", ("file_descriptor_proto", 1, BYTES, REP))
    msg("ExtensionNumberResponse", ("base_type_name", 1, STR, {}), ("extension_number", 2, I32, REP))
    msg("ListServiceResponse", ("service", 1, MSG, {**REP, "type_name": "ServiceResponse"}))
    msg("ServiceResponse", ("name", 1, STR, {}))
    msg("ErrorResponse", ("error_code", 1, I32, {}), ("error_message", 2, STR, {}))
    return f


def message_class(descriptor):
    get = getattr(message_factory, "GetMessageClass", None)
    if get is not None:
        return get(descriptor)
    return message_factory.MessageFactory(descriptor.file.pool).GetPrototype(descriptor)


class Reflection:
    """One reflection stream, asked one question at a time, as grpcurl does."""

    def __init__(self, channel: grpc.Channel, version: str):
        package = f"grpc.reflection.{version}"
        own = descriptor_pool.DescriptorPool()
        own.Add(reflection_file(package))
        self.request_cls = message_class(own.FindMessageTypeByName(f"{package}.ServerReflectionRequest"))
        response_cls = message_class(own.FindMessageTypeByName(f"{package}.ServerReflectionResponse"))
        self.method = f"/{package}.ServerReflection/ServerReflectionInfo"
        call = channel.stream_stream(
            self.method,
            request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=response_cls.FromString,
        )
        self.requests = queue.Queue()
        # iter(get, None): the stream's requests end when None is put (close()).
        self.responses = call(iter(self.requests.get, None), timeout=30)
        self.files = {}  # name -> FileDescriptorProto, as the server sent them
        self.pool = descriptor_pool.DescriptorPool()
        self.linked = set()

    def close(self):
        self.requests.put(None)
        for extra in self.responses:
            raise SystemExit(f"reflection: an answer nobody asked for: {extra}")

    def ask(self, **request):
        self.requests.put(self.request_cls(**request))
        answer = next(self.responses)
        kind = answer.WhichOneof("message_response")
        if kind == "error_response":
            e = answer.error_response
            raise LookupError(f"reflection error {e.error_code}: {e.error_message}")
        return answer

    def list_services(self):
        return [s.name for s in self.ask(list_services="*").list_services_response.service]

    def _take(self, answer):
        for raw in answer.file_descriptor_response.file_descriptor_proto:
            fd = descriptor_pb2.FileDescriptorProto.FromString(raw)
            self.files.setdefault(fd.name, fd)

    def _link(self, name, path=()):
        """Adds a file after its imports; fetches an import the server did not send, by name."""
        if name in self.linked:
            return
        if name in path:
            raise SystemExit(f"import cycle: {' -> '.join(path + (name,))}")
        if name not in self.files:
            self._take(self.ask(file_by_filename=name))
            if name not in self.files:
                raise SystemExit(f"server did not send {name} when asked for it by name")
        fd = self.files[name]
        for dep in fd.dependency:
            self._link(dep, path + (name,))
        # The strict step: the pool refuses unresolved imports and references.
        self.pool.Add(fd)
        self.linked.add(name)

    def resolve(self, symbol):
        answer = self.ask(file_containing_symbol=symbol)
        first = answer.file_descriptor_response.file_descriptor_proto
        if not first:
            raise SystemExit(f"no file sent for {symbol}")
        name = descriptor_pb2.FileDescriptorProto.FromString(first[0]).name
        self._take(answer)
        self._link(name)
        return self.pool.FindFileByName(name)

    def find(self, symbol):
        self.resolve(symbol)
        for finder in (
            self.pool.FindServiceByName,
            self.pool.FindMessageTypeByName,
            self.pool.FindEnumTypeByName,
        ):
            try:
                return finder(symbol)
            except KeyError:
                pass
        service, _, method = symbol.rpartition(".")
        return self.pool.FindServiceByName(service).methods_by_name[method]


FIELD_TYPES = {
    value: name[len("TYPE_"):].lower()
    for name, value in descriptor_pb2.FieldDescriptorProto.Type.items()
}


def describe(d):
    from google.protobuf import descriptor as D

    if isinstance(d, D.ServiceDescriptor):
        return {
            "service": d.full_name,
            "file": d.file.name,
            "methods": [
                {
                    "name": m.name,
                    "input": m.input_type.full_name,
                    "output": m.output_type.full_name,
                    "clientStreaming": m.client_streaming if hasattr(m, "client_streaming") else None,
                    "serverStreaming": m.server_streaming if hasattr(m, "server_streaming") else None,
                }
                for m in d.methods
            ],
        }
    if isinstance(d, D.Descriptor):
        return {
            "message": d.full_name,
            "file": d.file.name,
            "fields": [
                {
                    "name": f.name,
                    "jsonName": f.json_name,
                    "number": f.number,
                    "type": (f.message_type or f.enum_type).full_name
                    if (f.message_type or f.enum_type)
                    else FIELD_TYPES[f.type],
                    "repeated": f.label == f.LABEL_REPEATED,
                }
                for f in d.fields
            ],
        }
    if isinstance(d, D.EnumDescriptor):
        return {"enum": d.full_name, "file": d.file.name, "values": [v.name for v in d.values]}
    if isinstance(d, D.MethodDescriptor):
        return {"method": d.full_name, "input": d.input_type.full_name, "output": d.output_type.full_name}
    raise SystemExit(f"cannot describe {d!r}")


def reachable(pool_file_names, reflection):
    """Every service, message and enum of every file linked so far, as grpcurl describes them."""
    out = []

    def walk_message(m):
        out.append(describe(m))
        for nested in m.nested_types:
            if not nested.GetOptions().map_entry:
                walk_message(nested)
        for e in m.enum_types:
            out.append(describe(e))

    for name in pool_file_names:
        fd = reflection.pool.FindFileByName(name)
        for s in fd.services_by_name.values():
            out.append(describe(s))
        for m in fd.message_types_by_name.values():
            walk_message(m)
        for e in fd.enum_types_by_name.values():
            out.append(describe(e))
    return out


def json_messages(data, descriptor):
    """JSON messages one after another (as grpcurl's -d takes them), each parsed strictly."""
    decoder = json.JSONDecoder()
    messages, at = [], 0
    while True:
        while at < len(data) and data[at].isspace():
            at += 1
        if at == len(data):
            return messages
        value, at = decoder.raw_decode(data, at)
        message = message_class(descriptor)()
        json_format.ParseDict(value, message)
        messages.append(message)


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("-plaintext", action="store_true", help="accepted for grpcurl's sake")
    p.add_argument("--reflection", choices=["v1", "v1alpha"], default="v1")
    p.add_argument("-d", dest="data", default=None, help="request as proto JSON")
    p.add_argument("-H", dest="headers", action="append", default=[], help="'name: value' metadata")
    p.add_argument("-v", dest="verbose", action="store_true", help="print response headers")
    p.add_argument("address")
    p.add_argument("verb")
    p.add_argument("symbol", nargs="?")
    a = p.parse_args(argv)
    address = f"localhost{a.address}" if a.address.startswith(":") else a.address
    with grpc.insecure_channel(address) as channel:
        r = Reflection(channel, a.reflection)
        try:
            if a.verb == "list":
                print("\n".join(sorted(r.list_services())))
            elif a.verb == "describe":
                if a.symbol:
                    print(json.dumps(describe(r.find(a.symbol)), indent=2))
                else:
                    for service in r.list_services():
                        r.resolve(service)
                    print(json.dumps(reachable(sorted(r.linked), r), indent=2))
            else:
                full = a.verb.replace("/", ".")
                service_name, _, method_name = full.rpartition(".")
                service = r.find(service_name)
                method = service.methods_by_name[method_name]
                metadata = [tuple(part.strip() for part in h.split(":", 1)) for h in a.headers]
                metadata = [(k.lower(), v) for k, v in metadata]
                path = f"/{service.full_name}/{method.name}"
                serialize = lambda m: m.SerializeToString()
                deserialize = message_class(method.output_type).FromString
                if method.client_streaming and method.server_streaming:
                    requests = json_messages(a.data or "", method.input_type)
                    call = channel.stream_stream(path, serialize, deserialize)(
                        iter(requests), timeout=10, metadata=metadata
                    )
                    if a.verbose:
                        print("Response headers received:", file=sys.stderr)
                        for key, value in call.initial_metadata():
                            print(f"{key}: {value}", file=sys.stderr)
                    for response in call:
                        print(json_format.MessageToJson(response, indent=2))
                elif method.client_streaming or method.server_streaming:
                    raise SystemExit("only unary and bidirectional methods are supported")
                else:
                    request = message_class(method.input_type)()
                    # Strict, like grpcurl: unknown fields and wrong types are errors.
                    json_format.Parse(a.data or "{}", request)
                    call = channel.unary_unary(path, serialize, deserialize)
                    print(json_format.MessageToJson(call(request, timeout=10, metadata=metadata), indent=2))
        except grpc.RpcError as e:
            print(f"ERROR:\n  Code: {e.code().name}\n  Message: {e.details()}", file=sys.stderr)
            return 1
        except (LookupError, TypeError) as e:
            # TypeError: the descriptor pool refused a file (an unresolved import or type).
            print(f"ERROR: {e}", file=sys.stderr)
            return 1
        r.close()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except BrokenPipeError:
        # The reader went away (| head): quiet, as grpcurl is.
        sys.stderr.close()
        sys.exit(0)
