// The Docker engine: the one place that opens a client to it (dockerode), and the client's types.
import Docker from 'dockerode';

export type DockerClient = Docker;
export type Container = Docker.Container;
export type ContainerInfo = Docker.ContainerInfo;

/** A client of the Docker engine at DOCKER_HOST, else /var/run/docker.sock (dockerode's own defaults). */
export const connectEngine = (): DockerClient => new Docker();
