import { Server } from '@grpc/grpc-js';
import { fromBinary } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema } from '@bufbuild/protobuf/wkt';
import { describe, expect, it } from 'vitest';
import { FILE_DESCRIPTORS } from '../../../../src/gen/descriptor-set.js';
import { addReflection } from '../../../../src/leader/grpc/reflection.js';

describe('reflection descriptor set', () => {
  const files = FILE_DESCRIPTORS.map((f) =>
    fromBinary(FileDescriptorProtoSchema, Buffer.from(f.base64, 'base64')),
  );

  it('holds the files buf builds, each after its imports, with their real names', () => {
    const names = files.map((f) => f.name);
    expect(FILE_DESCRIPTORS.map((f) => f.name)).toEqual(names);
    for (const [i, file] of files.entries()) {
      for (const dep of file.dependency) expect(names.slice(0, i)).toContain(dep);
    }
    expect(files.find((f) => f.name === 'cluster/v1/leader.proto')?.dependency).toEqual([
      'google/protobuf/timestamp.proto',
      'worker/v1/worker.proto',
    ]);
  });

  it('keeps proto3 syntax, snake_case field names with json_name, and comments', () => {
    const scheduler = files.find((f) => f.name === 'scheduler/v1/scheduler.proto')!;
    expect(scheduler.syntax).toBe('proto3');
    const task = scheduler.messageType.find((m) => m.name === 'Task')!;
    expect(task.field.find((f) => f.number === 1)).toMatchObject({ name: 'id', jsonName: 'id' });
    expect(task.field.filter((f) => f.name.includes('_')).length).toBeGreaterThan(0);
    for (const field of task.field) {
      expect(field.jsonName).toBe(
        field.name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase()),
      );
    }
    expect(scheduler.sourceCodeInfo?.location.some((l) => l.leadingComments.length > 0)).toBe(true);
  });

  it('refuses to start with a served service it has no descriptor for', () => {
    const server = new Server();
    expect(() => addReflection(server, ['cluster.v1.LeaderService', 'nope.v1.Missing'])).toThrow(
      /no descriptor for nope.v1.Missing/,
    );
    expect(() => addReflection(server, ['cluster.v1.LeaderService'])).not.toThrow();
  });
});
