import { type Ec2Action, mutating } from './action.ts';

export const attachNetworkInterface: Ec2Action = {
  name: 'AttachNetworkInterface',
  latency: 'attach',
  throttle: mutating,
  run(cloud, params) {
    params.required('DeviceIndex');
    const attachmentId = cloud.attachEni({
      eniId: params.required('NetworkInterfaceId'),
      instanceId: params.required('InstanceId'),
      deviceIndex: params.int('DeviceIndex', 0, 99)!,
      networkCardIndex: params.int('NetworkCardIndex', 0, 15) ?? 0,
    });
    return { attachmentId, networkCardIndex: cloud.eniByAttachment(attachmentId).attachment!.networkCardIndex };
  },
};

export const detachNetworkInterface: Ec2Action = {
  name: 'DetachNetworkInterface',
  latency: 'detach',
  throttle: mutating,
  run(cloud, params) {
    params.bool('Force');
    cloud.detachEni(params.required('AttachmentId'));
    return { return: true };
  },
};
