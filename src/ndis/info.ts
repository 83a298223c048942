/**
 * NET_BUFFER_LIST information: the NDIS_NET_BUFFER_LIST_INFO slots (x64 values of nblinfo.h, including its
 * aliases; the NET_BUFFER_LIST_INFO accessor is in macros.ts). The slots are PVOID-sized; a driver stores
 * numbers (ULONG, ULONG_PTR, bit-field unions read as their Value) or object references in them.
 */

/** NetBufferListInfo slot 0. */
export const TcpIpChecksumNetBufferListInfo = 0;
/** Slot 0: an alias of TcpIpChecksumNetBufferListInfo. */
export const TcpOffloadBytesTransferred = 0;
/** NetBufferListInfo slot 1. */
export const IPsecOffloadV1NetBufferListInfo = 1;
/** Slot 1: an alias of IPsecOffloadV1NetBufferListInfo. */
export const IPsecOffloadV2NetBufferListInfo = 1;
/** NetBufferListInfo slot 2. */
export const TcpLargeSendNetBufferListInfo = 2;
/** Slot 2: an alias of TcpLargeSendNetBufferListInfo. */
export const TcpReceiveNoPush = 2;
/** NetBufferListInfo slot 3. */
export const ClassificationHandleNetBufferListInfo = 3;
/** NetBufferListInfo slot 4. */
export const Ieee8021QNetBufferListInfo = 4;
/** NetBufferListInfo slot 5. */
export const NetBufferListCancelId = 5;
/** NetBufferListInfo slot 6. */
export const MediaSpecificInformation = 6;
/** NetBufferListInfo slot 7. */
export const NetBufferListFrameType = 7;
/** Slot 7: an alias of NetBufferListFrameType. */
export const NetBufferListProtocolId = 7;
/** NetBufferListInfo slot 8. */
export const NetBufferListHashValue = 8;
/** NetBufferListInfo slot 9. */
export const NetBufferListHashInfo = 9;
/** NetBufferListInfo slot 10. */
export const WfpNetBufferListInfo = 10;
/** NetBufferListInfo slot 11. */
export const IPsecOffloadV2TunnelNetBufferListInfo = 11;
/** NetBufferListInfo slot 12. */
export const IPsecOffloadV2HeaderNetBufferListInfo = 12;
/** NetBufferListInfo slot 13. */
export const NetBufferListCorrelationId = 13;
/** NetBufferListInfo slot 14. */
export const NetBufferListFilteringInfo = 14;
/** NetBufferListInfo slot 15. */
export const MediaSpecificInformationEx = 15;
/** NetBufferListInfo slot 16. */
export const NblOriginalInterfaceIfIndex = 16;
/** Slot 16: an alias of NblOriginalInterfaceIfIndex. */
export const NblReAuthWfpFlowContext = 16;
/** NetBufferListInfo slot 17. */
export const TcpReceiveBytesTransferred = 17;
/** Slot 17: an alias of TcpReceiveBytesTransferred. */
export const NrtNameResolutionId = 17;
/** Slot 17: an alias of TcpReceiveBytesTransferred. */
export const UdpRecvSegCoalesceOffloadInfo = 17;
/** NetBufferListInfo slot 18. */
export const SwitchForwardingReserved = 18;
/** NetBufferListInfo slot 19. */
export const SwitchForwardingDetail = 19;
/** NetBufferListInfo slot 20. */
export const VirtualSubnetInfo = 20;
/** NetBufferListInfo slot 21. */
export const IMReserved = 21;
/** NetBufferListInfo slot 22. */
export const TcpRecvSegCoalesceInfo = 22;
/** Slot 22: an alias of TcpRecvSegCoalesceInfo. */
export const UdpSegmentationOffloadInfo = 22;
/** NetBufferListInfo slot 23. */
export const RscTcpTimestampDelta = 23;
/** Slot 23: an alias of RscTcpTimestampDelta. */
export const TcpSendOffloadsSupplementalNetBufferListInfo = 23;
/** NetBufferListInfo slot 24. */
export const GftOffloadInformation = 24;
/** NetBufferListInfo slot 25. */
export const GftFlowEntryId = 25;
/** NetBufferListInfo slot 26. */
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
