import {
  create,
  createFileRegistry,
  fromBinary,
  fromJsonString,
  toBinary,
  toJson,
  type DescEnum,
  type DescFile,
  type DescMessage,
  type DescMethod,
  type DescService,
  type FileRegistry,
  type JsonValue,
} from '@bufbuild/protobuf';
import {
  FieldDescriptorProto_Label as Label,
  FieldDescriptorProto_Type as Type,
  FileDescriptorProtoSchema,
  type FileDescriptorProto,
} from '@bufbuild/protobuf/wkt';
import { Client, credentials, Metadata, type ClientDuplexStream } from '@grpc/grpc-js';

/**
 * A strict reflection client, the TypeScript twin of grpc_reflect.py: it shares no code with
 * drover (the reflection protocol's messages are written out below, not taken from the
 * server or src/gen), links every file the server sends with @bufbuild/protobuf, which
 * refuses an import that was not sent and a reference that does not resolve (as grpcurl's
 * protoreflect does), and calls methods with proto JSON in and out.
 */
export class BufReflectionClient {
  private readonly client: Client;
  private readonly stream: ClientDuplexStream<Uint8Array, Uint8Array>;
  private readonly waiting: {
    resolve: (bytes: Uint8Array) => void;
    reject: (err: Error) => void;
  }[] = [];
  private readonly protocol: {
    request: DescMessage;
    response: DescMessage;
  };
  private readonly sent = new Map<string, FileDescriptorProto>();
  private readonly linked = new Map<string, FileRegistry>();

  constructor(
    address: string,
    version: 'v1' | 'v1alpha' = 'v1',
    private readonly timeoutMs = 10_000,
  ) {
    this.client = new Client(address, credentials.createInsecure());
    const pkg = `grpc.reflection.${version}`;
    const registry = createFileRegistry(reflectionFile(pkg), () => undefined);
    this.protocol = {
      request: registry.getMessage(`${pkg}.ServerReflectionRequest`)!,
      response: registry.getMessage(`${pkg}.ServerReflectionResponse`)!,
    };
    const identity = (bytes: Uint8Array): Uint8Array => bytes;
    this.stream = this.client.makeBidiStreamRequest(
      `/${pkg}.ServerReflection/ServerReflectionInfo`,
      (bytes: Uint8Array) => Buffer.from(bytes),
      identity,
      new Metadata(),
      { deadline: Date.now() + this.timeoutMs * 3 },
    );
    this.stream.on('data', (bytes: Uint8Array) => this.waiting.shift()?.resolve(bytes));
    this.stream.on('error', (err: Error) => {
      for (const w of this.waiting.splice(0)) w.reject(err);
    });
  }

  close(): void {
    this.stream.end();
    this.client.close();
  }

  /** Full names of the services the server lists. */
  async listServices(): Promise<string[]> {
    const answer = await this.ask({ listServices: '*' });
    const list = answer['listServicesResponse'] as { service?: { name: string }[] };
    return (list.service ?? []).map((s) => s.name);
  }

  /** Fetches and links the file that declares `symbol` and, transitively, its imports. */
  async resolve(symbol: string): Promise<DescFile> {
    const answer = await this.ask({ fileContainingSymbol: symbol });
    const files = this.take(answer);
    if (files[0] === undefined) throw new Error(`no file sent for ${symbol}`);
    return this.link(files[0], []);
  }

  /** Every file linked so far, as one registry. */
  registry(): FileRegistry {
    return createFileRegistry(...this.linked.values());
  }

  /** A service, message or enum by full name, resolved over reflection. */
  async find(symbol: string): Promise<DescService | DescMessage | DescEnum> {
    await this.resolve(symbol);
    const found = this.registry().get(symbol);
    if (found === undefined || found.kind === 'extension') throw new Error(`${symbol}: not found`);
    return found;
  }

  /** Calls a unary method ("pkg.Service.Method") with a proto JSON request; returns proto JSON. */
  async invoke(fullMethod: string, json = '{}'): Promise<JsonValue> {
    const dot = fullMethod.lastIndexOf('.');
    const service = await this.find(fullMethod.slice(0, dot));
    if (service.kind !== 'service') throw new Error(`${fullMethod}: not a service method`);
    const method: DescMethod | undefined = service.methods.find(
      (m) => m.name === fullMethod.slice(dot + 1),
    );
    if (method === undefined) throw new Error(`${fullMethod}: no such method`);
    if (method.methodKind !== 'unary') throw new Error(`${fullMethod}: not unary`);
    // Strict, like grpcurl -d: unknown fields and wrong types throw.
    const request = fromJsonString(method.input, json);
    const response = await new Promise<Uint8Array>((resolve, reject) => {
      this.client.makeUnaryRequest(
        `/${service.typeName}/${method.name}`,
        () => Buffer.from(toBinary(method.input, request)),
        (bytes: Uint8Array) => bytes,
        Buffer.alloc(0),
        new Metadata(),
        { deadline: Date.now() + this.timeoutMs },
        (err, res) => (err ? reject(err) : resolve(res!)),
      );
    });
    // proto JSON as grpcurl prints it: json_name keys, enum names, RFC 3339 timestamps,
    // fields at their default left out.
    return toJson(method.output, fromBinary(method.output, response), {
      registry: this.registry(),
    });
  }

  private async ask(request: Record<string, unknown>): Promise<Record<string, unknown>> {
    const [[caseName, value]] = Object.entries(request) as [[string, unknown]];
    const message = create(this.protocol.request, {
      messageRequest: { case: caseName, value },
    } as never);
    const answered = new Promise<Uint8Array>((resolve, reject) => {
      this.waiting.push({ resolve, reject });
    });
    this.stream.write(toBinary(this.protocol.request, message));
    const timeout = new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error('reflection: no answer in time')), this.timeoutMs).unref(),
    );
    const bytes = await Promise.race([answered, timeout]);
    const json = toJson(this.protocol.response, fromBinary(this.protocol.response, bytes)) as {
      errorResponse?: { errorCode?: number; errorMessage?: string };
    } & Record<string, unknown>;
    if (json.errorResponse) {
      const e = json.errorResponse;
      throw new Error(`reflection error ${e.errorCode ?? 0}: ${e.errorMessage ?? ''}`);
    }
    return json;
  }

  /** Keeps the files an answer carries; returns their names in the order sent. */
  private take(answer: Record<string, unknown>): string[] {
    const response = answer['fileDescriptorResponse'] as { fileDescriptorProto?: string[] };
    return (response.fileDescriptorProto ?? []).map((base64) => {
      const file = fromBinary(FileDescriptorProtoSchema, Buffer.from(base64, 'base64'));
      if (!this.sent.has(file.name)) this.sent.set(file.name, file);
      return file.name;
    });
  }

  /** Links a file after its imports, fetching by name any import the server did not send. */
  private async link(name: string, path: string[]): Promise<DescFile> {
    const done = this.linked.get(name)?.getFile(name);
    if (done) return done;
    if (path.includes(name)) throw new Error(`import cycle: ${[...path, name].join(' -> ')}`);
    if (!this.sent.has(name)) this.take(await this.ask({ fileByFilename: name }));
    const proto = this.sent.get(name);
    if (proto === undefined) throw new Error(`server did not send ${name} when asked by name`);
    for (const dep of proto.dependency) await this.link(dep, [...path, name]);
    // The strict step: createFileRegistry throws on an unresolved import or type reference.
    const registry = createFileRegistry(proto, (dep) => this.linked.get(dep)?.getFile(dep));
    this.linked.set(name, registry);
    return registry.getFile(name)!;
  }
}

/** The reflection protocol (grpc/reflection/{v1,v1alpha}/reflection.proto), written out. */
function reflectionFile(pkg: string): FileDescriptorProto {
  const str = { type: Type.STRING };
  const msg = (typeName: string): { type: Type; typeName: string } => ({
    type: Type.MESSAGE,
    typeName: `.${pkg}.${typeName}`,
  });
  const field = (
    name: string,
    number: number,
    type: { type: Type; typeName?: string },
    extra: { label?: Label; oneofIndex?: number } = {},
  ): Record<string, unknown> => ({
    name,
    number,
    label: Label.OPTIONAL,
    jsonName: name.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()),
    ...type,
    ...extra,
  });
  const rep = { label: Label.REPEATED };
  const one = { oneofIndex: 0 };
  return create(FileDescriptorProtoSchema, {
    name: `client/${pkg.replaceAll('.', '/')}/reflection.proto`,
    package: pkg,
    syntax: 'proto3',
    messageType: [
      {
        name: 'ServerReflectionRequest',
        oneofDecl: [{ name: 'message_request' }],
        field: [
          field('host', 1, str),
          field('file_by_filename', 3, str, one),
          field('file_containing_symbol', 4, str, one),
          field('file_containing_extension', 5, msg('ExtensionRequest'), one),
          field('all_extension_numbers_of_type', 6, str, one),
          field('list_services', 7, str, one),
        ],
      },
      {
        name: 'ExtensionRequest',
        field: [
          field('containing_type', 1, str),
          field('extension_number', 2, { type: Type.INT32 }),
        ],
      },
      {
        name: 'ServerReflectionResponse',
        oneofDecl: [{ name: 'message_response' }],
        field: [
          field('valid_host', 1, str),
          field('original_request', 2, msg('ServerReflectionRequest')),
          field('file_descriptor_response', 4, msg('FileDescriptorResponse'), one),
          field('all_extension_numbers_response', 5, msg('ExtensionNumberResponse'), one),
          field('list_services_response', 6, msg('ListServiceResponse'), one),
          field('error_response', 7, msg('ErrorResponse'), one),
        ],
      },
      {
        name: 'FileDescriptorResponse',
        field: [field('file_descriptor_proto', 1, { type: Type.BYTES }, rep)],
      },
      {
        name: 'ExtensionNumberResponse',
        field: [
          field('base_type_name', 1, str),
          field('extension_number', 2, { type: Type.INT32 }, rep),
        ],
      },
      { name: 'ListServiceResponse', field: [field('service', 1, msg('ServiceResponse'), rep)] },
      { name: 'ServiceResponse', field: [field('name', 1, str)] },
      {
        name: 'ErrorResponse',
        field: [field('error_code', 1, { type: Type.INT32 }), field('error_message', 2, str)],
      },
    ],
  });
}
