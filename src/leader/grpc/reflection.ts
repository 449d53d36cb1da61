import { create, createFileRegistry, fromBinary } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema, FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import type { Server } from '@grpc/grpc-js';
import type { AnyDefinition, PackageDefinition, ProtobufTypeDefinition } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { FILE_DESCRIPTORS } from '../../gen/descriptor-set.js';

/** The reflection services @grpc/reflection adds; listed so clients can describe them too. */
const REFLECTION_SERVICE_NAMES = [
  'grpc.reflection.v1.ServerReflection',
  'grpc.reflection.v1alpha.ServerReflection',
] as const;

/**
 * Adds gRPC server reflection (v1 and v1alpha) that serves the FileDescriptorProtos
 * `buf build` made from proto/ (src/gen/descriptor-set.ts): real file names, real
 * `dependency` lists, google/protobuf/timestamp.proto, snake_case fields with `json_name`,
 * and the proto comments. Strict clients such as grpcurl link exactly these.
 *
 * @grpc/reflection reads only `fileDescriptorProtos` from a package definition, so it is
 * given one entry holding every file's bytes instead of one rebuilt by proto-loader (whose
 * descriptors lose names and imports: grpc/grpc-node#2595). `services` lists what the
 * server really serves, so `list_services` names nothing that would answer UNIMPLEMENTED.
 *
 * Throws at startup if a served service is missing from the descriptor set.
 */
export function addReflection(server: Server, servedServiceNames: readonly string[]): void {
  const fileDescriptorProtos = FILE_DESCRIPTORS.map((file) => Buffer.from(file.base64, 'base64'));
  const files: ProtobufTypeDefinition = {
    format: 'Protocol Buffer 3 FileDescriptorSet',
    type: {},
    fileDescriptorProtos,
  };
  // The key is never read; the one entry only carries the files.
  const definition: PackageDefinition = { 'drover.descriptor_set': files as AnyDefinition };
  const services = [...servedServiceNames, ...REFLECTION_SERVICE_NAMES];
  // Linked as a strict client would link them: throws on an unresolved import or type.
  const registry = createFileRegistry(
    create(FileDescriptorSetSchema, {
      file: fileDescriptorProtos.map((bytes) => fromBinary(FileDescriptorProtoSchema, bytes)),
    }),
  );
  const missing = services.filter((name) => registry.getService(name) === undefined);
  if (missing.length > 0) {
    throw new Error(`reflection: no descriptor for ${missing.join(', ')}; run npm run proto`);
  }
  new ReflectionService(definition, { services }).addToServer(server);
}
