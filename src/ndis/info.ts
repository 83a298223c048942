/**
 * NET_BUFFER_LIST information: the NDIS_NET_BUFFER_LIST_INFO slots (x64 values of nblinfo.h, including its
 * aliases) and the NET_BUFFER_LIST_INFO accessor. The slots are PVOID-sized; a driver stores numbers (ULONG,
 * ULONG_PTR, bit-field unions read as their Value) or object references in them.
 */

export const TcpIpChecksumNetBufferListInfo = 0;
export const TcpOffloadBytesTransferred = 0;
export const IPsecOffloadV1NetBufferListInfo = 1;
export const IPsecOffloadV2NetBufferListInfo = 1;
export const TcpLargeSendNetBufferListInfo = 2;
export const TcpReceiveNoPush = 2;
export const ClassificationHandleNetBufferListInfo = 3;
export const Ieee8021QNetBufferListInfo = 4;
export const NetBufferListCancelId = 5;
export const MediaSpecificInformation = 6;
export const NetBufferListFrameType = 7;
export const NetBufferListProtocolId = 7;
export const NetBufferListHashValue = 8;
export const NetBufferListHashInfo = 9;
export const WfpNetBufferListInfo = 10;
export const IPsecOffloadV2TunnelNetBufferListInfo = 11;
export const IPsecOffloadV2HeaderNetBufferListInfo = 12;
export const NetBufferListCorrelationId = 13;
export const NetBufferListFilteringInfo = 14;
export const MediaSpecificInformationEx = 15;
export const NblOriginalInterfaceIfIndex = 16;
export const NblReAuthWfpFlowContext = 16;
export const TcpReceiveBytesTransferred = 17;
export const NrtNameResolutionId = 17;
export const UdpRecvSegCoalesceOffloadInfo = 17;
export const SwitchForwardingReserved = 18;
export const SwitchForwardingDetail = 19;
export const VirtualSubnetInfo = 20;
export const IMReserved = 21;
export const TcpRecvSegCoalesceInfo = 22;
export const UdpSegmentationOffloadInfo = 22;
export const RscTcpTimestampDelta = 23;
export const TcpSendOffloadsSupplementalNetBufferListInfo = 23;
export const GftOffloadInformation = 24;
export const GftFlowEntryId = 25;
export const NetBufferListInfoReserved3 = 26;
/** The number of slots in NET_BUFFER_LIST.NetBufferListInfo on x64. */
export const MaxNetBufferListInfo = 27;

/** The NDIS_NET_BUFFER_LIST_INFO enumeration as one object (name to slot). */
export const NDIS_NET_BUFFER_LIST_INFO = {
  TcpIpChecksumNetBufferListInfo,
  TcpOffloadBytesTransferred,
  IPsecOffloadV1NetBufferListInfo,
  IPsecOffloadV2NetBufferListInfo,
  TcpLargeSendNetBufferListInfo,
  TcpReceiveNoPush,
  ClassificationHandleNetBufferListInfo,
  Ieee8021QNetBufferListInfo,
  NetBufferListCancelId,
  MediaSpecificInformation,
  NetBufferListFrameType,
  NetBufferListProtocolId,
  NetBufferListHashValue,
  NetBufferListHashInfo,
  WfpNetBufferListInfo,
  IPsecOffloadV2TunnelNetBufferListInfo,
  IPsecOffloadV2HeaderNetBufferListInfo,
  NetBufferListCorrelationId,
  NetBufferListFilteringInfo,
  MediaSpecificInformationEx,
  NblOriginalInterfaceIfIndex,
  NblReAuthWfpFlowContext,
  TcpReceiveBytesTransferred,
  NrtNameResolutionId,
  UdpRecvSegCoalesceOffloadInfo,
  SwitchForwardingReserved,
  SwitchForwardingDetail,
  VirtualSubnetInfo,
  IMReserved,
  TcpRecvSegCoalesceInfo,
  UdpSegmentationOffloadInfo,
  RscTcpTimestampDelta,
  TcpSendOffloadsSupplementalNetBufferListInfo,
  GftOffloadInformation,
  GftFlowEntryId,
  NetBufferListInfoReserved3,
  MaxNetBufferListInfo,
} as const;

/**
 * The slots NdisCopySendNetBufferListInfo copies: the list in its documentation (checksum, IPsec v1 and v2,
 * LSO, 802.1Q, media-specific, cancel id, protocol id, filtering info, virtual subnet).
 */
export const SEND_INFO_SLOTS: readonly number[] = [
  TcpIpChecksumNetBufferListInfo,
  IPsecOffloadV1NetBufferListInfo,
  TcpLargeSendNetBufferListInfo,
  Ieee8021QNetBufferListInfo,
  MediaSpecificInformation,
  NetBufferListCancelId,
  NetBufferListProtocolId,
  IPsecOffloadV2TunnelNetBufferListInfo,
  IPsecOffloadV2HeaderNetBufferListInfo,
  VirtualSubnetInfo,
  NetBufferListFilteringInfo,
];

/**
 * The slots NdisCopyReceiveNetBufferListInfo copies. Its documentation does not list them; wdknet copies the
 * receive-side information a NIC indicates (checksum and IPsec results, 802.1Q, media-specific, frame type, RSS
 * hash value and info, filtering info, virtual subnet), and not send-only slots such as LSO or the cancel id.
 */
export const RECEIVE_INFO_SLOTS: readonly number[] = [
  TcpIpChecksumNetBufferListInfo,
  IPsecOffloadV1NetBufferListInfo,
  Ieee8021QNetBufferListInfo,
  MediaSpecificInformation,
  NetBufferListFrameType,
  NetBufferListHashValue,
  NetBufferListHashInfo,
  NetBufferListFilteringInfo,
  VirtualSubnetInfo,
];
